"""The case feature for ``transformers`` alone: a tokenizer that sets it, and a pipeline that insists on it.

A model trained with ``--case_feature`` reads case through ``token_type_ids``: 1 on the sub-words of words with an
upper-case letter, 0 elsewhere (its tokenizer lower-cases, so "Apple" and "apple" have the same ids). nerkit copies
this file, as it is, into the model's folder and names it in ``tokenizer_config.json`` (``auto_map``) and
``config.json`` (``custom_pipelines``), so that

- ``AutoTokenizer.from_pretrained(folder, trust_remote_code=True)`` gives :class:`CaseFeatureTokenizer`;
- ``pipeline("token-classification", model=folder, trust_remote_code=True)`` gives :class:`CaseFeaturePipeline`
  with that tokenizer, and without ``trust_remote_code=True`` stops at once with transformers' own message asking
  for it (rather than running without the case feature).

It imports nothing but ``transformers`` and NumPy (a dependency of it): whoever uses the model needs no nerkit.
"""

import bisect
import re

import numpy as np
from transformers import TokenClassificationPipeline, TokenizersBackend

# A word of running text, close to the words of column data such as CoNLL-2003: initials and numbers of a list
# ("U.S.", "B.", "4."), or a run of letters and digits with inner hyphens, periods, commas, ampersands and
# slashes ("x-ray", "1,250.5", "AT&T"); any other character but white space is a word of its own ("Paris," is
# "Paris" and ",", "Clinton's" is "Clinton" "'" "s").
WORD = re.compile(r"(?:\b\w\.)+|\w+(?:[-.,&/]\w+)*|\S")
WORD_SPLITS = {"words": WORD, "whitespace": re.compile(r"\S+")}


def has_upper(word):
    """Whether the word has an upper-case letter (it changes when lower-cased), as nerkit decides in training."""
    return word != word.lower()


class CaseFeatureTokenizer(TokenizersBackend):
    """The model's fast tokenizer (``tokenizer.json`` as nerkit saved it: BERT's for MiniLM), with
    ``token_type_ids`` set from the case of each word.

    A word is what the caller gives with ``is_split_into_words=True``; in raw text, by default, a :data:`WORD`
    (``word_split = "words"``); ``"whitespace"``: a run of characters between white space; ``"pretokens"``: the
    tokenizer's own pre-tokens (punctuation apart, "U.S." four words).
    """

    sets_case_feature = True
    model_input_names = ["input_ids", "token_type_ids", "attention_mask"]
    word_split = "words"

    def _encode_plus(self, text, text_pair=None, **kwargs):
        return_tensors = kwargs.pop("return_tensors", None)
        encoded = super()._encode_plus(text, text_pair=text_pair, return_tensors=None, **kwargs)
        flat = not encoded["input_ids"] or not isinstance(encoded["input_ids"][0], list)  # one text, no batch axis
        if "token_type_ids" in encoded:
            split = kwargs.get("is_split_into_words", False)
            batched = isinstance(text, (list, tuple)) and not (split and text and isinstance(text[0], str))
            sources = list(text) if batched else [text]
            if text_pair is not None:
                sources = list(zip(sources, text_pair if batched else [text_pair]))
            samples = encoded.get("overflow_to_sample_mapping") or range(len(encoded.encodings))
            types = [self.case_types(encoding, sources[sample], split)
                     for encoding, sample in zip(encoded.encodings, samples)]
            encoded["token_type_ids"] = types[0] if flat else types
        if return_tensors is None:
            return encoded
        rows = {key: [value] for key, value in encoded.items()} if flat else dict(encoded)
        return type(encoded)(rows, encoded.encodings, tensor_type=return_tensors)

    def case_types(self, encoding, source, split):
        """Per token of ``encoding`` (a ``tokenizers.Encoding``), 1 when it comes from a word with an upper-case
        letter; ``source``: the text, or the words, it was made from (a pair: both)."""
        sources = source if isinstance(source, tuple) else (source,)
        if split:
            upper = [[has_upper(word) for word in words] for words in sources]
            return [int(word is not None and upper[sequence][word])
                    for word, sequence in zip(encoding.word_ids, encoding.sequence_ids)]
        if self.word_split == "pretokens":
            return [int(word is not None and has_upper(sources[sequence][slice(*encoding.word_to_chars(word, sequence))]))
                    for word, sequence in zip(encoding.word_ids, encoding.sequence_ids)]
        words = [Words(text, WORD_SPLITS[self.word_split]) for text in sources]
        return [int(sequence is not None and words[sequence].upper_at(start))
                for (start, _), sequence in zip(encoding.offsets, encoding.sequence_ids)]


class Words:
    """The words of a text, by character position."""

    def __init__(self, text, pattern):
        matches = list(pattern.finditer(text))
        self.starts, self.ends = [match.start() for match in matches], [match.end() for match in matches]
        self.upper = [has_upper(match.group()) for match in matches]

    def index_at(self, position):
        """The number of the word that holds character ``position``, or None (white space)."""
        index = bisect.bisect_right(self.starts, position) - 1
        return index if index >= 0 and position < self.ends[index] else None

    def upper_at(self, position):
        """Whether the word that holds character ``position`` has an upper-case letter."""
        index = self.index_at(position)
        return index is not None and self.upper[index]


class CaseFeaturePipeline(TokenClassificationPipeline):
    """transformers' token classification pipeline, made to read a text as nerkit's model was trained on it:

    - it refuses a tokenizer that does not set the case feature (one passed as ``tokenizer=``);
    - with a word aggregation strategy (``first``, ``average``, ``max``), a word is the one whose case counts
      (the tokenizer's ``word_split``, or the words given with ``is_split_into_words=True``), not each run of
      letters or punctuation;
    - the words' tags are the best sequence without ``I-X`` after ``O`` or another type (Viterbi on the words'
      scores, as nerkit's default ``--constrained_decoding``), rather than each word's argmax.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not getattr(self.tokenizer, "sets_case_feature", False):
            raise ValueError("this model reads case through token_type_ids: use the tokenizer of its folder, loaded "
                             "with trust_remote_code=True (CaseFeatureTokenizer), not "
                             f"{type(self.tokenizer).__name__}")

    def gather_pre_entities(self, sentence, input_ids, scores, offset_mapping, special_tokens_mask,
                            aggregation_strategy, word_ids=None, word_to_chars_map=None):
        pre_entities = super().gather_pre_entities(sentence, input_ids, scores, offset_mapping, special_tokens_mask,
                                                   aggregation_strategy, word_ids, word_to_chars_map)
        pattern = WORD_SPLITS.get(getattr(self.tokenizer, "word_split", None))
        words = Words(sentence, pattern) if word_ids is None and pattern is not None else None
        previous = None
        for entity in pre_entities:
            index, start = entity["index"], entity["start"]
            if word_ids is not None:
                entity["is_subword"] = index > 0 and word_ids[index] == word_ids[index - 1]
            elif words is not None and start is not None:
                word = words.index_at(start)
                entity["is_subword"] = word is not None and word == previous
                previous = word
        return pre_entities

    def aggregate_word(self, entities, aggregation_strategy):
        word = super().aggregate_word(entities, aggregation_strategy)
        if aggregation_strategy == "first":
            word["scores"] = entities[0]["scores"]
        elif aggregation_strategy == "max":
            word["scores"] = max(entities, key=lambda entity: entity["scores"].max())["scores"]
        else:
            word["scores"] = np.nanmean(np.stack([entity["scores"] for entity in entities]), axis=0)
        return word

    def aggregate(self, pre_entities, aggregation_strategy):
        if aggregation_strategy in ("none", "simple") or not pre_entities:
            return super().aggregate(pre_entities, aggregation_strategy)
        words = self.aggregate_words(pre_entities, aggregation_strategy)
        labels = [self.model.config.id2label[index] for index in range(len(self.model.config.id2label))]
        best = best_allowed_path(np.log(np.stack([word.pop("scores") for word in words]) + 1e-12), labels)
        for word, (label, score) in zip(words, best):
            word["entity"], word["score"] = labels[label], np.exp(score)
        return self.group_entities(words)


def allowed(previous, label):
    """IOB2: ``I-X`` only after ``B-X`` or ``I-X`` (``previous`` None: the first word); plain labels: anything."""
    if not label.startswith("I-"):
        return True
    return previous is not None and previous[:2] in ("B-", "I-") and previous[2:] == label[2:]


def best_allowed_path(log_scores, labels):
    """(label id, its log score) per word: the allowed sequence with the highest total log score (Viterbi)."""
    start = np.array([0.0 if allowed(None, label) else -np.inf for label in labels])
    moves = np.array([[0.0 if allowed(previous, label) else -np.inf for label in labels] for previous in labels])
    total, back = log_scores[0] + start, []
    for row in log_scores[1:]:
        candidates = total[:, None] + moves
        back.append(candidates.argmax(axis=0))
        total = candidates.max(axis=0) + row
    path = [int(total.argmax())]
    for pointers in reversed(back):
        path.append(int(pointers[path[-1]]))
    path.reverse()
    return [(label, float(log_scores[position, label])) for position, label in enumerate(path)]

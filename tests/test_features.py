"""Sub-word alignment, windows for long sentences, document context, and one prediction per word."""

import datasets
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nerkit.decoding import word_log_probs
from nerkit.errors import UserError
from nerkit.features import FeatureSpec, build_features, check_window_spec, count_windowed_sentences, tokenize_dataset
from nerkit.inputs import IGNORE_INDEX, window_starts
from nerkit.layout import resolve_max_seq_length
from tiny_models import make_tokenizer

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
VOCAB_WORDS = ["ada", "lovelace", "visited", "london", "in", "june", "the", "city", "was", "cold", "."]


@pytest.fixture(scope="module")
def tokenizer():
    # Whole words for the vocabulary list; anything else splits into characters ("Zanzibar" -> z ##a ##n ...).
    return make_tokenizer(VOCAB_WORDS + list("abcdefghijklmnopqrstuvwxyz.,"), whole_words=len(VOCAB_WORDS))


def dataset(sentences, documents=None):
    return datasets.Dataset.from_dict(
        {
            "tokens": [words for words, _ in sentences],
            "ner_tags": [tags for _, tags in sentences],
            "document_id": documents or [""] * len(sentences),
        }
    )


def features_for(tokenizer, sentences, spec, documents=None):
    tokenized = tokenize_dataset(dataset(sentences, documents), tokenizer, load_from_cache_file=False)
    return tokenized, build_features(tokenized, tokenizer, LABEL2ID, spec, load_from_cache_file=False)


SENTENCE = (["Ada", "visited", "Zanzibar", "."], ["B-PER", "O", "B-LOC", "O"])


def test_first_subword_labelled_rest_ignored(tokenizer):
    tokenized, features = features_for(tokenizer, [SENTENCE], FeatureSpec(max_seq_length=64))
    row = features[0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]"
    zanzibar = pieces.index("z")
    assert pieces[zanzibar + 1].startswith("##")
    assert row["labels"][zanzibar] == LABEL2ID["B-LOC"]
    assert all(label == IGNORE_INDEX for label in row["labels"][zanzibar + 1 : zanzibar + 8])
    assert row["labels"][0] == row["labels"][-1] == IGNORE_INDEX
    # word_index marks first sub-words only, in word order
    assert [w for w in row["word_index"] if w >= 0] == [0, 1, 2, 3]


def test_label_all_tokens_turns_b_into_i(tokenizer):
    _, features = features_for(tokenizer, [SENTENCE], FeatureSpec(max_seq_length=64, label_all_tokens=True))
    row = features[0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    zanzibar = pieces.index("z")
    assert row["labels"][zanzibar] == LABEL2ID["B-LOC"]
    assert set(row["labels"][zanzibar + 1 : zanzibar + 8]) == {LABEL2ID["I-LOC"]}
    # still one scored position per word
    assert sum(1 for w in row["word_index"] if w >= 0) == 4


def test_word_with_no_subwords_still_gets_a_position(tokenizer):
    # A zero-width space alone is normalised away by BERT tokenizers; the word must not vanish.
    _, features = features_for(tokenizer, [(["Ada", "\u200b", "visited"], ["B-PER", "O", "O"])], FeatureSpec(max_seq_length=32))
    assert [w for w in features[0]["word_index"] if w >= 0] == [0, 1, 2]


def test_window_starts_cover_everything_with_overlap():
    assert window_starts([True] * 10, budget=4, stride=1) == [(0, 4), (3, 7), (6, 10)]
    # starts move back to a word start: words of two sub-words each
    first = [True, False] * 6
    windows = window_starts(first, budget=5, stride=1)
    assert windows[0] == (0, 5)
    assert all(first[start] for start, _ in windows)
    assert windows[-1][1] == 12


def test_long_sentence_is_windowed_and_every_word_scored_once(tokenizer):
    words = ["Ada", "visited", "London", "in", "June", "."] * 20
    tags = ["B-PER", "O", "B-LOC", "O", "O", "O"] * 20
    spec = FeatureSpec(max_seq_length=16, stride=4)
    tokenized, features = features_for(tokenizer, [(words, tags)], spec)
    assert len(features) > 1 and count_windowed_sentences(features) == 1
    assert all(len(ids) <= 16 for ids in features["input_ids"])
    logits = np.random.default_rng(0).normal(size=(len(features), 16, len(LABELS)))
    scores = word_log_probs(logits, features, [len(words)])
    assert scores[0].shape == (len(words), len(LABELS))


def test_merge_takes_the_window_with_most_context(tokenizer):
    words = ["the", "city", "was", "cold", "."] * 4  # one sub-word each
    tags = ["O"] * len(words)
    _, features = features_for(tokenizer, [(words, tags)], FeatureSpec(max_seq_length=10, stride=4))
    # windows of 8 words, step 4: word 6 sits at position 7 (of 0..9) in window 0 and at 3 in window 1.
    positions = {}
    for row, word_index in enumerate(features["word_index"]):
        if 6 in word_index:
            positions[row] = word_index.index(6)
    assert len(positions) == 2
    logits = np.zeros((len(features), 10, len(LABELS)))
    for row, position in positions.items():
        logits[row, position, row % len(LABELS)] = 10.0  # each window votes for a different label
    length = len(features["input_ids"][0])
    best_row = max(positions, key=lambda r: min(positions[r], length - 1 - positions[r]))
    scores = word_log_probs(logits, features, [len(words)])
    assert scores[0][6].argmax() == best_row % len(LABELS)


def test_document_context_added_with_ignored_labels(tokenizer):
    sentences = [
        (["the", "city", "was", "cold"], ["O"] * 4),
        (["Ada", "visited", "London"], ["B-PER", "O", "B-LOC"]),
        (["in", "June", "."], ["O"] * 3),
        (["the", "city"], ["O", "O"]),  # another document: never context for the sentences above
    ]
    documents = ["d1", "d1", "d1", "d2"]
    _, features = features_for(tokenizer, sentences, FeatureSpec(max_seq_length=32, context_size=2), documents)
    middle = features[1]
    pieces = tokenizer.convert_ids_to_tokens(middle["input_ids"])
    assert pieces == ["[CLS]", "was", "cold", "ada", "visited", "london", "in", "june", "[SEP]"]
    assert middle["labels"] == [IGNORE_INDEX] * 3 + [LABEL2ID["B-PER"], 0, LABEL2ID["B-LOC"]] + [IGNORE_INDEX] * 3
    assert [w for w in middle["word_index"] if w >= 0] == [0, 1, 2]
    # last sentence of d1 gets no right context from d2; the first gets no left context
    assert tokenizer.convert_ids_to_tokens(features[2]["input_ids"])[-2] == "."
    assert tokenizer.convert_ids_to_tokens(features[0]["input_ids"])[1] == "the"
    # unused room on the left goes to the right, up to context_size
    assert tokenizer.convert_ids_to_tokens(features[0]["input_ids"])[5:7] == ["ada", "visited"]


def test_context_off_without_documents(tokenizer):
    sentences = [(["the", "city"], ["O", "O"]), (["Ada"], ["B-PER"])]
    _, features = features_for(tokenizer, sentences, FeatureSpec(max_seq_length=32, context_size=4))
    assert tokenizer.convert_ids_to_tokens(features[1]["input_ids"]) == ["[CLS]", "ada", "[SEP]"]


def test_window_spec_errors(tokenizer):
    with pytest.raises(UserError, match="--stride 14 must be smaller"):
        check_window_spec(FeatureSpec(max_seq_length=16, stride=14), tokenizer)
    with pytest.raises(UserError, match="larger than the model's limit of 128"):
        resolve_max_seq_length(1000, tokenizer)
    assert resolve_max_seq_length(None, tokenizer) == 128


def random_sentences(rng, lengths):
    """Sentences of the given lengths from a pool of whole words and words split into characters; tags all O."""
    pool = VOCAB_WORDS + ["Zanzibar", "Kilimanjaro", "x"]
    return [([pool[i] for i in rng.integers(0, len(pool), n)], ["O"] * n) for n in lengths]


def assert_one_prediction_per_word(features, lengths, max_seq_length, rng):
    """Inputs fit the model, and random logits decode to exactly one score row per word of every sentence."""
    assert all(len(ids) <= max_seq_length for ids in features["input_ids"])
    width = max(len(ids) for ids in features["input_ids"])
    scores = word_log_probs(rng.normal(size=(len(features), width, len(LABELS))), features, lengths)
    assert [len(s) for s in scores] == lengths


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=60), min_size=1, max_size=4),
    max_seq_length=st.integers(min_value=4, max_value=40),
    stride=st.one_of(st.none(), st.integers(min_value=0, max_value=20)),
    context_size=st.integers(min_value=0, max_value=8),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_any_window_setting_gives_every_word_one_prediction(tokenizer, lengths, max_seq_length, stride, context_size, seed):
    rng = np.random.default_rng(seed)
    sentences = random_sentences(rng, lengths)
    spec = FeatureSpec(max_seq_length=max_seq_length, stride=stride, context_size=context_size)
    if stride is not None and stride >= max_seq_length - 2:
        with pytest.raises(UserError):
            check_window_spec(spec, tokenizer)
        return
    _, features = features_for(tokenizer, sentences, spec, documents=["doc"] * len(sentences))
    assert_one_prediction_per_word(features, lengths, max_seq_length, rng)


def test_packed_documents_share_inputs_and_every_word_keeps_its_label(tokenizer):
    first = (["Ada", "visited", "London", "."], ["B-PER", "O", "B-LOC", "O"])
    second = (["The", "city", "was", "cold", "."], ["O", "O", "O", "O", "O"])
    third = (["Lovelace", "visited", "Zanzibar"], ["B-PER", "O", "B-LOC"])
    other = (["June", "."], ["O", "O"])
    sentences = [first, second, third, other]
    documents = ["d1", "d1", "d1", "d2"]
    spec = FeatureSpec(max_seq_length=64, pack_length=64)
    _, features = features_for(tokenizer, sentences, spec, documents=documents)
    # d1's three sentences fit in one input; d2 is never mixed into it.
    assert len(features) == 2
    assert [sorted(set(ids) - {-1}) for ids in features["word_sentence"]] == [[0, 1, 2], [3]]
    row = features[0]
    pieces = tokenizer.convert_ids_to_tokens(row["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and pieces.count("[SEP]") == 1
    labelled = [(sentence, word, label) for sentence, word, label in
                zip(row["word_sentence"], row["word_index"], row["labels"]) if word >= 0]
    expected = [(s, w, LABEL2ID[tag]) for s in range(3) for w, tag in enumerate(sentences[s][1])]
    assert labelled == expected
    # Decoding gives each sentence its own words back, in order.
    rng = np.random.default_rng(0)
    width = max(len(ids) for ids in features["input_ids"])
    scores = word_log_probs(rng.normal(size=(len(features), width, len(LABELS))), features, [4, 5, 3, 2])
    assert [len(s) for s in scores] == [4, 5, 3, 2]


def test_packing_respects_the_length_and_leaves_sentences_without_documents_alone(tokenizer):
    sentences = [(["ada", "visited", "london"], ["B-PER", "O", "B-LOC"])] * 6
    _, packed = features_for(tokenizer, sentences, FeatureSpec(max_seq_length=64, pack_length=8), documents=["d"] * 6)
    assert all(len(ids) <= 8 for ids in packed["input_ids"])
    assert len(packed) == 3  # two 3-word sentences + [CLS] [SEP] per input
    _, alone = features_for(tokenizer, sentences, FeatureSpec(max_seq_length=64, pack_length=64))
    assert len(alone) == 6


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=8),
    documents=st.lists(st.sampled_from(["a", "b", ""]), min_size=8, max_size=8),
    max_seq_length=st.integers(min_value=6, max_value=40),
    pack_length=st.integers(min_value=4, max_value=60),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_any_packing_gives_every_word_one_prediction(tokenizer, lengths, documents, max_seq_length, pack_length, seed):
    rng = np.random.default_rng(seed)
    sentences = random_sentences(rng, lengths)
    spec = FeatureSpec(max_seq_length=max_seq_length, pack_length=pack_length)
    _, features = features_for(tokenizer, sentences, spec, documents=sorted(documents[: len(lengths)]))
    assert_one_prediction_per_word(features, lengths, max_seq_length, rng)

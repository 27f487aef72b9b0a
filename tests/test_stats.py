"""nerkit.stats: counts and class weights against values worked out by hand, validation and repair."""

import json

import pytest

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError
from nerkit.labels import inverse_frequency_weights, validate_tags
from nerkit.stats import corpus_stats, count_documents, format_stats, length_summary, percentile, subword_lengths


@pytest.fixture
def tiny():
    """4 sentences, 19 words, documents d1 (2 sentences) and d2, one sentence outside any document.

    Entities: PER 2, LOC 3, ORG 1. Labels: O 10, B-PER 2, I-PER 2, B-LOC 3, I-LOC 1, B-ORG 1.
    """
    return [
        Sentence(["Ada", "Lovelace", "met", "Charles", "Babbage", "."], ["B-PER", "I-PER", "O", "B-PER", "I-PER", "O"], document_id="d1"),
        Sentence(["She", "lived", "in", "London"], ["O", "O", "O", "B-LOC"], document_id="d1"),
        Sentence(["IBM"], ["B-ORG"], document_id="d2"),
        Sentence(["Rain", "fell", "in", "New", "York", "and", "Paris", "today"], ["O", "O", "O", "B-LOC", "I-LOC", "O", "B-LOC", "O"]),
    ]


def test_counts_by_hand(tiny):
    stats = corpus_stats(tiny)
    assert (stats["sentences"], stats["tokens"], stats["documents"]) == (4, 19, 2)
    assert stats["scheme"] == "IOB2"
    assert stats["entities"] == {"LOC": 3, "ORG": 1, "PER": 2}
    assert stats["entity_total"] == 6
    assert stats["labels"] == {"O": 10, "B-LOC": 3, "I-LOC": 1, "B-ORG": 1, "B-PER": 2, "I-PER": 2}
    assert stats["label_list"] == ["O", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    # lengths 1, 4, 6, 8: p75 at rank 2.25 -> 6 + 0.25 * 2; p99 at rank 2.97 -> 6 + 0.97 * 2
    assert stats["lengths"]["words"] == {"min": 1, "max": 8, "mean": 4.75, "median": 5.0, "p75": 6.5, "p99": 7.94}
    assert "subwords" not in stats["lengths"]
    assert json.loads(json.dumps(stats)) == stats  # plain JSON, nothing else


def test_class_weights_formula(tiny):
    weights = corpus_stats(tiny)["class_weights"]
    n, k = 19, 6  # tokens, labels present
    expected = {"O": n / (k * 10), "B-LOC": n / (k * 3), "I-LOC": n / (k * 1), "B-ORG": n / (k * 1), "B-PER": n / (k * 2), "I-PER": n / (k * 2)}
    for label, weight in expected.items():
        assert weights[label] == pytest.approx(weight)
    assert weights["I-ORG"] == 1.0  # absent label: neutral weight
    labels = corpus_stats(tiny)["labels"]
    assert sum(labels[label] * weights[label] for label in labels) / n == pytest.approx(1.0)


def test_class_weights_balanced_corpus_is_all_ones():
    assert inverse_frequency_weights({"O": 5, "B-X": 5}) == {"O": 1.0, "B-X": 1.0}
    assert inverse_frequency_weights({"O": 3, "B-X": 1}, labels=["B-X", "O", "I-X"]) == {"B-X": 2.0, "O": 4 / 6, "I-X": 1.0}


def test_given_scheme_and_label_list_are_used(tiny):
    stats = corpus_stats(tiny, scheme="iob1", label_list=["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"])
    assert stats["scheme"] == "IOB1"
    assert stats["label_list"][-2:] == ["B-MISC", "I-MISC"] and stats["class_weights"]["B-MISC"] == 1.0
    assert corpus_stats([Sentence(["a"], ["S-X"])])["scheme"] == "BIOES"


def test_documents_are_runs_of_one_id():
    def docs(*ids):
        return [Sentence(["w"], ["O"], document_id=i) for i in ids]

    assert count_documents(docs("a", "a", "b", "a")) == 3  # "a" again after "b" is another document
    assert count_documents(docs(None, None)) == 0
    assert count_documents([]) == 0


def test_percentile_and_length_summary_edges():
    assert percentile([], 50) == 0
    assert percentile([3, 1][::-1], 50) == 2  # sorted input [1, 3]
    assert percentile([10, 20, 30], 100) == 30
    assert length_summary([]) == {"min": 0, "max": 0, "mean": 0.0, "median": 0, "p75": 0, "p99": 0}
    assert corpus_stats([])["sentences"] == 0


def _tiny_tokenizer(max_length=8):
    """A real fast WordPiece tokenizer (lower-casing, like MiniLM's) over a vocabulary written here."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "ada", "love", "##lace", "met", "charles", "bab", "##bage", ".",
             "she", "lived", "in", "london", "ibm", "rain", "fell", "new", "york", "and", "paris", "today"]  # fmt: skip
    backend = Tokenizer(models.WordPiece({word: i for i, word in enumerate(vocab)}, unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(lowercase=True)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    backend.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", model_max_length=max_length
    )


def test_subword_lengths_with_a_fast_tokenizer(tiny):
    tokenizer = _tiny_tokenizer()
    assert tokenizer.is_fast
    # Lovelace -> love ##lace, Babbage -> bab ##bage: 8, 4, 1 and 8 sub-words.
    assert subword_lengths(tiny, tokenizer) == [8, 4, 1, 8]
    assert subword_lengths(tiny + [Sentence([], [])] + tiny[:1], tokenizer, batch_size=2) == [8, 4, 1, 8, 0, 8]
    stats = corpus_stats(tiny, tokenizer=tokenizer)
    assert stats["lengths"]["subwords"] == {"min": 1, "max": 8, "mean": 5.25, "median": 6.0, "p75": 8.0, "p99": 8.0}
    # [CLS] + [SEP] make 8 + 2 > 8 for two sentences.
    assert (stats["max_length"], stats["over_max_length"]) == (8, 2)
    assert json.loads(json.dumps(stats)) == stats
    assert "sub-words / sentence" in format_stats(stats)


def test_format_stats_shows_the_numbers(tiny):
    text = format_stats(corpus_stats(tiny), title="== tiny")
    lines = text.splitlines()
    assert lines[0] == "== tiny"
    assert any(line.split() == ["tokens", "19"] for line in lines)
    assert any(line.split() == ["LOC", "3"] for line in lines)
    assert any(line.split()[:2] == ["O", "10"] and line.split()[-1] == f"{19 / 60:.2f}" for line in lines)
    assert "min 1, median 5, mean 4.75, p75 6.50, p99 7.94, max 8" in text


# ------------------------------------------------------------------------------------------------ validate


def test_validate_repairs_and_reports_where(tmp_path):
    sentences = [
        Sentence(["Ada", "wrote"], ["B-PER", "O"], line=1),
        Sentence(["in", "London", "Town"], ["O", "I-LOC", "I-LOC"], line=4),
        Sentence(["IBM", "Paris"], ["B-ORG", "I-LOC"], line=8),
    ]
    fixed, report = validate_tags(sentences, path="train.conll")
    assert report.scheme == "IOB2" and report.detected  # 2 B- starts against 1 I- start
    assert [s.ner_tags for s in fixed] == [["B-PER", "O"], ["O", "B-LOC", "I-LOC"], ["B-ORG", "B-LOC"]]
    assert (report.repairs, report.repaired_sentences) == (2, 2)
    assert report.examples == ["train.conll:4: word 2 'London': I-LOC -> B-LOC", "train.conll:8: word 2 'Paris': I-LOC -> B-LOC"]
    assert fixed[0] is sentences[0]  # valid sentences are passed through
    assert sentences[1].ner_tags == ["O", "I-LOC", "I-LOC"]  # the input is not changed
    assert json.dumps(report.to_dict())


def test_validate_in_a_given_scheme():
    iob1 = [Sentence(["a", "b", "c"], ["I-X", "B-X", "O"])]
    fixed, report = validate_tags(iob1)
    assert (report.scheme, report.repairs, fixed[0].ner_tags) == ("IOB1", 0, ["I-X", "B-X", "O"])
    fixed, report = validate_tags(iob1, scheme="iob2")
    assert (report.scheme, report.detected, report.repairs, fixed[0].ner_tags) == ("IOB2", False, 1, ["B-X", "B-X", "O"])


def test_validate_keeps_only_a_few_examples():
    sentences = [Sentence(["a"], ["I-X"], line=n) for n in range(1, 20)] + [Sentence(["b", "c"], ["B-X", "I-X"])] * 30
    _, report = validate_tags(sentences, path="f", max_examples=3)
    assert report.repairs == 19 and len(report.examples) == 3


def test_strict_names_file_line_and_tag():
    sentences = [Sentence(["a", "b"], ["B-X", "O"], line=1)] * 3 + [Sentence(["in", "Paris"], ["O", "I-LOC"], line=9)]
    with pytest.raises(NerDataError) as caught:
        validate_tags(sentences, strict=True, path="dev.conll")
    assert (caught.value.path, caught.value.line) == ("dev.conll", 9)
    assert "'I-LOC' cannot follow 'O' in IOB2" in str(caught.value) and "'Paris'" in str(caught.value)
    assert str(caught.value).startswith("dev.conll:9: ")


def test_strict_messages_for_start_and_end():
    with pytest.raises(NerDataError, match=r"x:2: word 1 'a': tag 'B-X' cannot open a sentence in IOB1"):
        validate_tags([Sentence(["a"], ["B-X"], line=2)], scheme="iob1", strict=True, path="x")
    with pytest.raises(NerDataError, match=r"word 2 'b': tag 'B-X' cannot end a sentence in BIOES"):
        validate_tags([Sentence(["a", "b"], ["S-X", "B-X"], line=2)], scheme="bioes", strict=True, path="x")


def test_strict_without_a_line_names_the_sentence_and_document():
    sentences = [Sentence(["a"], ["O"], document_id="doc-7"), Sentence(["b"], ["E-X"], document_id="doc-7")]
    with pytest.raises(NerDataError, match=r"^x.json \(sentence 2 \(document doc-7\)\): word 1 'b'"):
        validate_tags(sentences, scheme="bioes", strict=True, path="x.json")


def test_validate_rejects_broken_sentences():
    with pytest.raises(NerDataError, match=r"f:3: 2 words but 1 tags"):
        validate_tags([Sentence(["a", "b"], ["O"], line=3)], path="f")
    with pytest.raises(NerDataError, match=r"f:5: word 2: tag 'B_PER' is not a tag.*did you mean 'B-PER'"):
        validate_tags([Sentence(["a", "b"], ["O", "B_PER"], line=5)], path="f")

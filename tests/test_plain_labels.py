"""Plain labels (part-of-speech tags and other classes without spans): read, trained, scored, predicted, converted.

The corpus is made up here: short sentences from a few templates, tagged with Penn Treebank labels, odd ones
included (``PRP$``, ``-LRB-``, ``''``, ``.``), which no reader may take for malformed NER tags once asked.
"""

import json
import random
import re
from pathlib import Path

import datasets
import numpy as np
import pytest

import convert_iob
import predict_ner
import run_ner
import run_ner_no_trainer
from nerkit import metrics
from nerkit.decoding import decode
from nerkit.errors import NerDataError
from nerkit.features import FeatureSpec, build_features, tokenize_dataset
from nerkit.formats import FormatOptions, read_sentences, write_sentences
from nerkit.schemes import PLAIN, convert, get_spans, scheme_of_labels
from script_runner import call
from tiny_models import make_model_dir, make_tokenizer

REPO = Path(__file__).resolve().parent.parent
FAST = ["--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--report_to", "none",
        "--save_strategy", "no", "--disable_tqdm", "true", "--seed", "1"]

SUBJECTS = [(["Mira"], ["NNP"]), (["the", "ferryman"], ["DT", "NN"]), (["her", "brother"], ["PRP$", "NN"]),
            (["Tolvane", "Harbour"], ["NNP", "NNP"])]
VERBS = [(["sold"], ["VBD"]), (["sells"], ["VBZ"]), (["will", "buy"], ["MD", "VB"])]
OBJECTS = [(["two", "boats"], ["CD", "NNS"]), (["a", "lamp"], ["DT", "NN"]), (["old", "nets"], ["JJ", "NNS"])]
ENDINGS = [([".", ], ["."]), (["(", "again", ")", "."], ["-LRB-", "RB", "-RRB-", "."]),
           (["''", "."], ["''", "."])]


def pos_sentences(count, seed):
    """``count`` (words, tags) pairs from the templates above."""
    rng = random.Random(seed)
    sentences = []
    for _ in range(count):
        parts = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(ENDINGS)]
        sentences.append(([w for words, _ in parts for w in words], [t for _, tags in parts for t in tags]))
    return sentences


def write_pos_conll(path, sentences, documents=1):
    """Three columns like CoNLL-2003 (word, POS, a chunk-ish filler); the POS tags in column 1."""
    lines = []
    per_document = max(1, len(sentences) // documents)
    for index, (words, tags) in enumerate(sentences):
        if index % per_document == 0:
            lines += ["-DOCSTART- -X- O", ""]
        lines += [f"{word} {tag} O" for word, tag in zip(words, tags)] + [""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


ALL_LABELS = sorted({t for _, tags in pos_sentences(400, 0) for t in tags})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pos")
    write_pos_conll(folder / "train.conll", pos_sentences(48, 1), documents=4)
    write_pos_conll(folder / "dev.conll", pos_sentences(20, 2), documents=2)
    return folder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    words = [w for words, _ in pos_sentences(200, 0) for w in words]
    return make_model_dir(tmp_path_factory.mktemp("pos-encoder"), words)


@pytest.fixture(scope="module")
def pos_tagger(tmp_path_factory, corpus, encoder):
    """A tiny POS tagger trained by run_ner.py with --task_name pos (upstream's switch)."""
    out = tmp_path_factory.mktemp("pos-run") / "out"
    status = call(run_ner.main, ["--model_name_or_path", encoder, "--train_file", corpus / "train.conll",
                                 "--validation_file", corpus / "dev.conll", "--test_file", corpus / "dev.conll",
                                 "--tag_column", 1, "--task_name", "pos", "--do_train", "--do_eval", "--do_predict",
                                 "--max_steps", 30, "--learning_rate", "5e-3", "--output_dir", out, *FAST])
    assert status == 0
    return out


# --- reading and writing -----------------------------------------------------------------------------------


@pytest.mark.parametrize("format_name, name", [("conll", "data.conll"), ("json", "data.jsonl"), ("csv", "data.csv"),
                                               ("text_labels", "text_data.txt")])
def test_every_word_level_format_keeps_plain_labels_only_when_asked(tmp_path, format_name, name):
    from nerkit.corpus import Sentence

    sentences = [Sentence(words, tags) for words, tags in pos_sentences(12, 3)]
    path = tmp_path / name
    write_sentences(sentences, path, format_name, FormatOptions(plain_labels=True))
    back = read_sentences(path, format_name, FormatOptions(plain_labels=True))
    assert [s.ner_tags for s in back] == [s.ner_tags for s in sentences]
    assert [s.tokens for s in back] == [s.tokens for s in sentences]
    with pytest.raises(NerDataError, match="is not a tag.*tagging scheme none"):
        read_sentences(path, format_name, FormatOptions())
    # NER writers still refuse them: a POS tag in NER data is a mistake unless the user said otherwise.
    with pytest.raises(NerDataError, match="is not a tag"):
        write_sentences(sentences, tmp_path / "again" / name, format_name, FormatOptions())


def test_a_plain_label_with_white_space_is_an_error_with_its_line(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text('{"tokens": ["a", "b"], "pos_tags": ["DT", "N N"]}\n', encoding="utf-8")
    with pytest.raises(NerDataError, match=r"data.jsonl:1.*'N N' is not a label"):
        read_sentences(path, "json", FormatOptions(plain_labels=True))


def test_plain_labels_are_one_word_units_and_never_converted_to_spans():
    tags = ["NNP", "NNP", "VBZ", "O"]
    assert get_spans(tags) == [("NNP", 0, 1), ("NNP", 1, 2), ("VBZ", 2, 3)]  # two NNP words are two units
    assert convert(tags, PLAIN, PLAIN) == tags
    with pytest.raises(ValueError, match="plain labels"):
        convert(tags, PLAIN, "bioes")
    assert scheme_of_labels(ALL_LABELS) is PLAIN
    assert scheme_of_labels(["O", "B-PER", "I-PER"]) is not PLAIN


# --- scoring and decoding ----------------------------------------------------------------------------------


def test_scores_are_per_word_and_equal_accuracy_without_o():
    gold = [["DT", "NN", "VBZ", "."], ["PRP$", "NN", "-LRB-"]]
    predicted = [["DT", "JJ", "VBZ", "."], ["PRP$", "NN", "-LRB-"]]
    scores = metrics.score(gold, predicted)
    assert scores["accuracy"] == pytest.approx(6 / 7)
    assert scores["precision"] == scores["recall"] == scores["f1"] == pytest.approx(6 / 7)
    assert scores["per_type"]["NN"] == {"precision": 1.0, "recall": 0.5, "f1": pytest.approx(2 / 3), "number": 2}
    assert scores["per_type"]["JJ"]["precision"] == 0.0 and scores["per_type"]["JJ"]["number"] == 0
    assert scores["per_type"]["-LRB-"]["f1"] == 1.0 and scores["per_type"]["PRP$"]["number"] == 1
    # --strict is about span schemes; for plain labels it changes nothing
    assert metrics.score(gold, predicted, strict=True) == scores
    report = metrics.report(gold, predicted)
    assert all(label in report for label in ["PRP$", "-LRB-", "NN", "JJ"])


def test_o_in_a_plain_label_set_counts_as_no_label():
    gold, predicted = [["O", "ADJ", "O", "ADV"]], [["ADJ", "ADJ", "O", "O"]]
    scores = metrics.score(gold, predicted)
    assert scores["accuracy"] == 0.5
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5  # 1 of 2 predicted, 1 of 2 gold units


def test_constrained_decoding_of_plain_labels_is_argmax():
    labels = ["DT", "NN", "NNP", "VBZ"]
    rng = np.random.default_rng(0)
    scores = [np.log(rng.dirichlet(np.ones(len(labels)), size=length)) for length in (1, 5, 9)]
    id2label = dict(enumerate(labels))
    constrained, _ = decode(scores, id2label, constrained=True)
    argmax, _ = decode(scores, id2label, constrained=False)
    assert constrained == argmax


def test_label_all_tokens_gives_every_sub_word_its_plain_label():
    tokenizer = make_tokenizer(["the", "city"] + list("abcdefghijklmnopqrstuvwxyz"), whole_words=2)
    label2id = {"NNP": 0, "B-LOC": 1, "I-LOC": 2}  # plain labels that happen to look like tags stay as they are
    raw = datasets.Dataset.from_dict({"tokens": [["the", "zanzibar"]], "ner_tags": [["NNP", "B-LOC"]],
                                      "document_id": [""]})
    tokenized = tokenize_dataset(raw, tokenizer, load_from_cache_file=False)
    features = build_features(tokenized, tokenizer, label2id, FeatureSpec(max_seq_length=32, label_all_tokens=True),
                              load_from_cache_file=False)
    labels = features[0]["labels"]
    assert labels[1] == 0 and len(labels) > 5
    assert set(labels[2:-1]) == {1}  # every piece of "zanzibar" is B-LOC, none became I-LOC


# --- training, evaluating and predicting -------------------------------------------------------------------


def test_run_ner_trains_a_pos_tagger_with_task_name_pos(pos_tagger, corpus):
    config = json.loads((pos_tagger / "config.json").read_text())
    labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
    train_labels = sorted({t for s in read_sentences(corpus / "train.conll", "conll",
                                                       FormatOptions(tag_column=1, plain_labels=True))
                           for t in s.ner_tags})
    assert labels == train_labels  # the labels seen, nothing made up (no B-/I- pairs, no O)
    results = json.loads((pos_tagger / "eval_results.json").read_text())
    assert results["eval_f1"] == pytest.approx(results["eval_accuracy"])
    assert results["eval_accuracy"] > 0.5  # 30 steps on a 13-word vocabulary: far above chance (1/16)
    assert set(results["eval_per_type"]) <= set(labels)
    gold = read_sentences(corpus / "dev.conll", "conll", FormatOptions(tag_column=1, plain_labels=True))
    predicted = read_sentences(pos_tagger / "predictions.conll", "conll",
                               FormatOptions(tag_column=-1, plain_labels=True))
    written_gold = read_sentences(pos_tagger / "predictions.conll", "conll",
                                  FormatOptions(tag_column=1, plain_labels=True))
    assert [s.tokens for s in predicted] == [s.tokens for s in gold]
    assert [s.ner_tags for s in written_gold] == [s.ner_tags for s in gold]
    assert {t for s in predicted for t in s.ner_tags} <= set(labels)
    card = (pos_tagger / "README.md").read_text()
    assert "token classification" in card and "Word-level scores" in card and "- ner\n" not in card


def test_a_pos_run_reports_words_not_entities(pos_tagger, corpus):
    """The eval report and report.html of a POS run speak of labelled words: no SemEval-2013 table (one-word units),
    one row of labelled words per sentence, the plain-label error classes, labels rather than entity types."""
    text = (pos_tagger / "eval_report.txt").read_text(encoding="utf-8")
    assert "Word-level scores" in text and "SemEval-2013 scores (nervaluate)" not in text
    page = (pos_tagger / "eval_report.html").read_text(encoding="utf-8")
    assert "<i>labels</i>" in page and "<i>gold</i>" not in page and "entities" not in page
    assert re.findall(r'<option value="(\w+)">', page.split('id="f-class">')[1].split("</select>")[0]) == ["wrong_label", "missed", "spurious"]
    assert "<label>label <select" in page and "<th>label</th>" in page
    # the validation split is dev.conll, where every word has a POS tag: one mark per word
    words = sum(len(s.tokens) for s in read_sentences(corpus / "dev.conll", "conll", FormatOptions(tag_column=1, plain_labels=True)))
    assert page.count("<mark ") == words


def test_a_pos_tagger_evaluates_without_being_told_its_labels_are_plain(pos_tagger, corpus, tmp_path):
    out = tmp_path / "eval"
    status = call(run_ner.main, ["--model_name_or_path", pos_tagger, "--validation_file", corpus / "dev.conll",
                                 "--tag_column", 1, "--do_eval", "--output_dir", out, *FAST])
    assert status == 0
    again = json.loads((out / "eval_results.json").read_text())["eval_accuracy"]
    assert again == pytest.approx(json.loads((pos_tagger / "eval_results.json").read_text())["eval_accuracy"])


def test_pos_tags_from_a_hub_style_dataset_in_classlabel_order(tmp_path, encoder):
    names = ["''", ".", "-LRB-", "-RRB-", "CD", "DT", "JJ", "MD", "NN", "NNP", "NNS", "PRP$", "RB", "VB", "VBD",
             "VBZ", "XX"]  # upstream's conll2003 declares its POS tags as a ClassLabel like this
    sentences = pos_sentences(16, 4)
    features = datasets.Features({"tokens": datasets.Sequence(datasets.Value("string")),
                                  "pos_tags": datasets.Sequence(datasets.ClassLabel(names=names)),
                                  "ner_tags": datasets.Sequence(datasets.ClassLabel(names=["O", "B-PER", "I-PER"]))})
    split = datasets.Dataset.from_dict({"tokens": [w for w, _ in sentences],
                                        "pos_tags": [[names.index(t) for t in tags] for _, tags in sentences],
                                        "ner_tags": [[0] * len(w) for w, _ in sentences]}, features=features)
    datasets.DatasetDict({"train": split, "validation": split}).save_to_disk(str(tmp_path / "saved"))
    out = tmp_path / "out"
    status = call(run_ner.main, ["--model_name_or_path", encoder, "--dataset_name", tmp_path / "saved",
                                 "--task_name", "pos", "--do_train", "--do_eval", "--max_steps", 2,
                                 "--output_dir", out, *FAST])
    assert status == 0
    config = json.loads((out / "config.json").read_text())
    assert [config["id2label"][str(i)] for i in range(len(names))] == names  # the dataset's ids are the model's
    assert json.loads((out / "eval_results.json").read_text())["eval_per_type"]  # scored on pos_tags


def test_run_ner_no_trainer_agrees_on_plain_labels(tmp_path, corpus, encoder, pos_tagger):
    out = tmp_path / "loop"
    status = call(run_ner_no_trainer.main, ["--model_name_or_path", encoder, "--train_file", corpus / "train.conll",
                                            "--validation_file", corpus / "dev.conll", "--tag_column", 1,
                                            "--tagging_scheme", "none", "--max_train_steps", 2,
                                            "--per_device_train_batch_size", 8, "--output_dir", out, "--seed", 1])
    assert status == 0
    ours = json.loads((out / "config.json").read_text())["id2label"]
    theirs = json.loads((pos_tagger / "config.json").read_text())["id2label"]
    assert ours == theirs
    results = json.loads((out / "all_results.json").read_text())
    assert results["eval_f1"] == pytest.approx(results["eval_accuracy"])


def test_predict_ner_with_a_pos_tagger(pos_tagger, corpus, tmp_path):
    text = tmp_path / "in.txt"
    text.write_text("Mira sold two boats.\nHer brother will buy a lamp (again).\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    assert call(predict_ner.main, ["--model", pos_tagger, "--input", text, "--output", out, "--quiet"]) == 0
    config = json.loads((pos_tagger / "config.json").read_text())
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [len(r["tags"]) for r in records] == [5, 10]
    assert {t for r in records for t in r["tags"]} <= set(config["id2label"].values())
    assert [e["text"] for e in records[0]["entities"]] == ["Mira", "sold", "two", "boats", "."]  # one per word
    # word-level input: its POS column is kept as gold, read as plain labels because the model's are
    conll_out = tmp_path / "out.conll"
    two_columns = tmp_path / "dev2.conll"
    two_columns.write_text("\n".join(" ".join(line.split()[:2]) for line in (corpus / "dev.conll").read_text().splitlines()))
    assert call(predict_ner.main, ["--model", pos_tagger, "--input", two_columns, "--output", conll_out,
                                   "--format", "conll", "--quiet"]) == 0
    rows = [line.split() for line in conll_out.read_text().splitlines() if line.strip() and not line.startswith("-DOCSTART-")]
    gold = [line.split() for line in two_columns.read_text().splitlines() if line.strip() and not line.startswith("-DOCSTART-")]
    assert [row[:2] for row in rows] == gold
    assert call(predict_ner.main, ["--model", pos_tagger, "--input", text, "--output", tmp_path / "b.jsonl",
                                   "--scheme", "bioes", "--quiet"]) == 2


# --- convert_iob.py ----------------------------------------------------------------------------------------


def test_convert_iob_round_trips_plain_labels_and_refuses_span_schemes(tmp_path, corpus, capsys):
    source = corpus / "train.conll"
    jsonl, back = tmp_path / "train.jsonl", tmp_path / "back.conll"
    assert call(convert_iob.main, ["--input", source, "--output", jsonl, "--tag_column", 1, "--input_scheme", "none",
                                   "--stats"]) == 0
    stats = json.loads(Path(f"{jsonl}.stats.json").read_text())
    original = read_sentences(source, "conll", FormatOptions(tag_column=1, plain_labels=True))
    seen = sorted({t for s in original for t in s.ner_tags})
    assert stats["scheme"] == "plain" and stats["label_list"] == seen and sorted(stats["class_weights"]) == seen
    assert Path(f"{jsonl}.label_ids.csv").read_text().split() == ["O"] + seen  # NeMo pads with O
    assert call(convert_iob.main, ["--input", jsonl, "--output", back, "--input_scheme", "none"]) == 0
    again = read_sentences(back, "conll", FormatOptions(plain_labels=True))
    assert [(s.tokens, s.ner_tags, s.document_id) for s in again] == [(s.tokens, s.ner_tags, s.document_id) for s in original]
    capsys.readouterr()
    for extra, expected in ((["--scheme", "bioes"], "cannot be converted"), ([], "tagging scheme none")):
        argv = ["--input", source, "--output", tmp_path / "x.jsonl", "--tag_column", 1, *extra]
        if extra:
            argv += ["--input_scheme", "none"]
        assert call(convert_iob.main, argv) == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and expected in error[0]
    assert not (tmp_path / "x.jsonl").exists()

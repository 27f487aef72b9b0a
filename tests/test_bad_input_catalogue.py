"""The bad-input catalogue (issue #7): every case fed to the command-line tool that would meet it.

Each case is one entry of :data:`CASES`: the CLI, the files written into a fresh folder, the arguments, and
what must come out. Every CLI runs as a real subprocess (``sys.executable``, from the case folder, offline),
since that is what shows there is no traceback; the subprocesses start up front, a few at a time, and each
test waits for its own. For a bad input the run must end with

- exit status 2,
- exactly one line on stderr, ``error: ...``, naming the file and line (``path:line:``) or the document /
  offset, and the problem (the case's substrings),
- no ``Traceback``,
- nothing created or changed: every file and folder under the case's folder is byte-for-byte as before
  (the output path does not exist afterwards; a non-empty output folder keeps exactly what it held).

Some inputs must *work* (CRLF, a BOM, a discontinuous BRAT span, labels only in the test split, a sentence of
5,000 words): those cases expect status 0 and check the result instead.

Adding a CLI is one entry in :data:`CLIS`; adding a case is one ``Case(...)``. Cases for a CLI whose script is
not in the checkout are skipped with a reason. Placeholders in arguments, files and expectations:
``{data}`` (the case's input folder), ``{out}`` (its output path, absent before the run) and the model folders
``{encoder}`` (a tiny BERT without a token-classification head), ``{tagger}`` (a tiny token classifier with
the sample data's labels), ``{foo_tagger}`` (one whose labels are O/B-FOO/I-FOO) and ``{slow_tagger}`` (the
tagger with a slow, Python-only tokenizer).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Union

import pytest

from tiny_models import make_fourier_model_dir, make_model_dir

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"
SAMPLE_LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


@dataclass(frozen=True)
class CLI:
    script: str
    common: Sequence[str] = ()  # arguments every case of this CLI gets (after its own)


CLIS: Dict[str, CLI] = {
    "convert_iob.py": CLI("convert_iob.py"),
    "run_ner.py": CLI("run_ner.py", ("--report_to", "none", "--disable_tqdm", "true", "--per_device_eval_batch_size", "64")),
    "run_ner_no_trainer.py": CLI("run_ner_no_trainer.py", ("--report_to", "none", "--per_device_eval_batch_size", "64")),
    "predict_ner.py": CLI("predict_ner.py", ("--quiet",)),
    "export_onnx.py": CLI("export_onnx.py", ("--quiet",)),
    "upgrade_standard_loading.py": CLI("scripts/upgrade_standard_loading.py"),
}
TRAINING_CLIS = ("run_ner.py", "run_ner_no_trainer.py")


@dataclass
class Case:
    name: str
    cli: str
    argv: List[str]
    files: Dict[str, Union[str, bytes]] = field(default_factory=dict)  # paths relative to the case folder
    expect: Sequence[str] = ()  # substrings of the one stderr line (bad input) or of stdout (must work)
    status: int = 2
    check: Optional[Callable[[Path, subprocess.CompletedProcess], None]] = None  # must-work cases: the result
    env: Dict[str, str] = field(default_factory=dict)  # environment variables of the run (placeholders filled)

    @property
    def id(self) -> str:
        return f"{self.cli.replace('.py', '')}:{self.name}"


def for_training_scripts(name: str, argv: List[str], **kwargs) -> List[Case]:
    """The same case for run_ner.py and run_ner_no_trainer.py (they share arguments and data code)."""
    return [Case(name, cli, list(argv), **kwargs) for cli in TRAINING_CLIS]


# ------------------------------------------------------------------------------------------------ must-work checks


def jsonl_records(path: Path) -> List[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def converted_words_and_tags(expected):
    def check(folder: Path, result):
        records = jsonl_records(folder / "out" / "out.jsonl")
        assert [(r["tokens"], r["ner_tags"]) for r in records] == expected

    return check


def brat_full_extent(folder: Path, result):
    records = jsonl_records(folder / "out" / "out.jsonl")
    assert records[0]["tokens"] == ["Ada", "met", "Lovelace", "today", "."]
    assert records[0]["ner_tags"] == ["B-PER", "I-PER", "I-PER", "O", "O"]


def predicted_conll_words(output_dir: Path) -> List[List[str]]:
    """Words of predictions.conll, read back with the project's own CoNLL reader (word column 0)."""
    from nerkit.formats import read_sentences

    return [sentence.tokens for sentence in read_sentences(output_dir / "predictions.conll", "conll")]


LONG_WORDS = ["Stefan", "visited", "Oakhallow", "and", "the", "council", "of", "Brinmoor", "."]
LONG_TAGS = ["B-PER", "O", "B-LOC", "O", "O", "O", "O", "B-LOC", "O"]
LONG_SENTENCE = "".join(f"{LONG_WORDS[i % 9]} {LONG_TAGS[i % 9]}\n" for i in range(5000))


def five_thousand_predictions(folder: Path, result):
    words = predicted_conll_words(folder / "out")
    assert [len(sentence) for sentence in words] == [5000]
    assert words[0] == [LONG_WORDS[i % 9] for i in range(5000)]
    record = jsonl_records(folder / "out" / "predictions.jsonl")[0]
    assert len(record["predicted_tags"]) == len(record["gold_tags"]) == 5000
    assert "windows" in result.stdout or "windowed" in result.stdout


def unknown_type_counted_as_missed(folder: Path, result):
    results = json.loads((folder / "out" / "predict_results.json").read_text())
    per_type = results["predict_per_type"]
    assert per_type["DATE"]["number"] == 1 and per_type["DATE"]["recall"] == 0.0  # the model has no DATE label
    assert per_type["PER"]["number"] == 2
    assert predicted_conll_words(folder / "out") == [["Stefan", "visited", "on", "Monday"], ["Anna", "ran"]]


def type_only_in_test_is_learned(folder: Path, result):
    label2id = json.loads((folder / "out" / "config.json").read_text())["label2id"]
    assert {"B-DATE", "I-DATE", "B-PER", "I-PER"} <= set(label2id)
    per_type = json.loads((folder / "out" / "predict_results.json").read_text())["predict_per_type"]
    assert per_type["DATE"]["number"] == 1


def raw_text_five_thousand_words(folder: Path, result):
    record = jsonl_records(folder / "data" / "out.jsonl")[0]
    assert len(record["tokens"]) == len(record["tags"]) == 5000
    assert all(record["text"][s:e] == t for t, (s, e) in zip(record["tokens"], record["offsets"]))


def raw_text_crlf_and_bom(folder: Path, result):
    records = jsonl_records(folder / "data" / "out.jsonl")
    assert [r["text"] for r in records] == ["Ada Lovelace wrote.", "Stefan visited Oakhallow."]
    for record in records:
        assert all(record["text"][s:e] == t for t, (s, e) in zip(record["tokens"], record["offsets"]))


GOLD_TEXT = "Ada Lovelace wrote.\nBob ran.\n"
GOLD_CONLL = "-DOCSTART- O\n\nAda B-PER\nLovelace I-PER\nwrote O\n. O\n\nBob B-PER\nran O\n. O\n"


def gold_from_another_file(folder: Path, result):
    """The gold column of the CoNLL output is the gold file's tags, and the error list compares with them."""
    rows = [line.split() for line in (folder / "data" / "out.conll").read_text(encoding="utf-8").splitlines() if line]
    assert [(row[0], row[1]) for row in rows] == [tuple(line.split()) for line in GOLD_CONLL.splitlines()[2:] if line]
    for record in jsonl_records(folder / "data" / "errors.jsonl"):
        if record["gold"] is not None:
            assert (record["gold"]["text"], record["gold"]["label"]) in {("Ada Lovelace", "PER"), ("Bob", "PER")}


def label_config(labels: str) -> str:
    """A Label Studio labelling config whose ``<Labels>`` (line 2) has ``"PER,Misc:MISC"`` (``value:alias``)."""
    tags = []
    for label in labels.split(","):
        value, _, alias = label.partition(":")
        tags.append(f'<Label value="{value}"' + (f' alias="{alias}"' if alias else "") + "/>")
    return f'<View>\n  <Labels name="ner" toName="doc">{"".join(tags)}</Labels>\n  <Text name="doc" value="$sentence"/>\n</View>\n'


def regions_as_configured(folder: Path, result):
    task, = json.loads((folder / "data" / "pre.json").read_text(encoding="utf-8"))
    assert list(task["data"]) == ["sentence"]
    regions = task["predictions"][0]["result"]
    assert regions, "the tiny model predicts entities here"
    assert {(r["from_name"], r["to_name"]) for r in regions} == {("ner", "doc")}


# ------------------------------------------------------------------------------------------------ the catalogue

CONVERT = ["--input", "{data}/in.conll", "--output", "{out}/out.jsonl"]
PREDICT_SAMPLE = ["--model_name_or_path", "{tagger}", "--test_file", str(SAMPLE / "test.conll"), "--do_predict",
                  "--max_predict_samples", "5", "--output_dir", "{out}"]

CASES: List[Case] = [
    # --- convert_iob.py: one file or folder in, the problem named with file and line -----------------------
    Case("ragged column counts", "convert_iob.py", CONVERT, {"data/in.conll": "Ada NNP B-PER\nLovelace B-PER\n"},
         ["{data}/in.conll:2:", "expected 3 columns (like line 1), got 2"]),
    Case("tag B_PER", "convert_iob.py", CONVERT, {"data/in.conll": "Ada B-PER\nwrote O\n\nShe B_PER\n"},
         ["{data}/in.conll:4:", "'B_PER' is not a tag", "did you mean 'B-PER'"]),
    Case("tag PER without prefix", "convert_iob.py", CONVERT, {"data/in.conll": "Ada O\nLovelace PER\n"},
         ["{data}/in.conll:2:", "'PER' is not a tag", "needs a prefix, e.g. 'B-PER'"]),
    Case("POS tags read as NER tags", "convert_iob.py", CONVERT, {"data/in.conll": "Ada NNP\nwrote VBD\n"},
         ["{data}/in.conll:1:", "'NNP' is not a tag", "choose the tagging scheme none"]),
    Case("a label with a space under --input_scheme none", "convert_iob.py",
         ["--input", "{data}/in.jsonl", "--output", "{out}/out.conll", "--input_scheme", "none"],
         {"data/in.jsonl": '{"tokens": ["Ada"], "pos_tags": ["N NP"]}\n'},
         ["{data}/in.jsonl:1:", "'N NP' is not a label"]),
    Case("lower-case tag", "convert_iob.py", CONVERT, {"data/in.conll": "Ada b-per\n"},
         ["{data}/in.conll:1:", "'b-per' is not a tag"]),
    Case("I-X after O under --strict", "convert_iob.py", CONVERT + ["--strict"],
         {"data/in.conll": "Ada B-PER\nwrote O\n\nin O\nLondon I-LOC\n"},
         ["{data}/in.conll:4:", "word 2 'London': tag 'I-LOC' cannot follow 'O' in IOB2 (--strict"]),
    Case("I-X after O repaired without --strict", "convert_iob.py", CONVERT,
         {"data/in.conll": "Ada B-PER\nwrote O\n\nin O\nLondon I-LOC\n"}, ["1 repair", "I-LOC -> B-LOC"], status=0,
         check=converted_words_and_tags([(["Ada", "wrote"], ["B-PER", "O"]), (["in", "London"], ["O", "B-LOC"])])),
    Case("empty file", "convert_iob.py", CONVERT, {"data/in.conll": ""}, ["{data}/in.conll: ", "empty file"]),
    Case("only -DOCSTART-", "convert_iob.py", CONVERT, {"data/in.conll": "-DOCSTART- -X- -X- O\n\n"},
         ["{data}/in.conll: ", "only 1 -DOCSTART- line(s) and no sentence"]),
    Case("CRLF line ends work", "convert_iob.py", CONVERT, {"data/in.conll": b"Ada B-PER\r\nLovelace I-PER\r\n\r\nwrote O\r\n"},
         ["2 sentences, 3 tokens"], status=0,
         check=converted_words_and_tags([(["Ada", "Lovelace"], ["B-PER", "I-PER"]), (["wrote"], ["O"])])),
    Case("UTF-8 BOM works", "convert_iob.py", CONVERT, {"data/in.conll": b"\xef\xbb\xbfAda B-PER\nwrote O\n"},
         ["1 sentences, 2 tokens"], status=0, check=converted_words_and_tags([(["Ada", "wrote"], ["B-PER", "O"])])),
    Case("Latin-1 bytes without --encoding", "convert_iob.py", CONVERT, {"data/in.conll": b"Ada B-PER\n\nCaf\xe9 B-LOC\n"},
         ["{data}/in.conll:3:", "byte 0xe9 cannot be decoded as utf-8", "--encoding latin-1"]),
    Case("NUL byte", "convert_iob.py", CONVERT, {"data/in.conll": b"Ada B-PER\nx\x00y O\n"},
         ["{data}/in.conll:2:", "NUL byte"]),
    Case("text/labels line counts differ", "convert_iob.py", ["--input", "{data}/text_in.txt", "--output", "{out}/out.jsonl"],
         {"data/text_in.txt": "Ada wrote\nShe did\n", "data/labels_in.txt": "B-PER O\n"},
         ["{data}/labels_in.txt: ", "text_in.txt has 2 lines but labels_in.txt has 1"]),
    Case("words and labels on a line differ", "convert_iob.py", ["--input", "{data}/text_in.txt", "--output", "{out}/out.jsonl"],
         {"data/text_in.txt": "Ada wrote\nShe did\n", "data/labels_in.txt": "B-PER O\nO\n"},
         ["{data}/labels_in.txt:2:", "1 labels for 2 words"]),
    Case("offsets beyond the text", "convert_iob.py", ["--input", "{data}/in.spacy.jsonl", "--output", "{out}/out.conll"],
         {"data/in.spacy.jsonl": '{"text": "Ada", "entities": [[0, 3, "PER"]]}\n{"text": "Bob", "entities": [[0, 10, "PER"]]}\n'},
         ["{data}/in.spacy.jsonl:2:", '[0, 10, "PER"] is outside the text (length 3)']),
    Case("offsets inside a word", "convert_iob.py", ["--input", "{data}/in.spacy.jsonl", "--output", "{out}/out.conll"],
         {"data/in.spacy.jsonl": '{"text": "Ada Lovelace wrote", "entities": [[0, 6, "PER"]]}\n'},
         ["{data}/in.spacy.jsonl:1:", '[0, 6, "PER"] ends inside the word \'Lovelace\'']),
    Case("overlapping offset entities", "convert_iob.py", ["--input", "{data}/in.spacy.jsonl", "--output", "{out}/out.conll"],
         {"data/in.spacy.jsonl": '{"text": "Ada Lovelace wrote", "entities": [[0, 12, "PER"], [4, 12, "PER"]]}\n'},
         ["{data}/in.spacy.jsonl:1:", '[4, 12, "PER"] overlaps entity [0, 12, "PER"]']),
    # annotation-tool exports (issue 19): one line naming the file, the task or line, and the problem
    Case("Label Studio offsets past the text", "convert_iob.py", ["--input", "{data}/export.json", "--output", "{out}/out.conll"],
         {"data/export.json": json.dumps([{"id": 4, "data": {"text": "Ada met Bob"}, "annotations": [{"result": [
             {"type": "labels", "to_name": "text", "value": {"start": 8, "end": 14, "labels": ["PER"]}}]}]}])},
         ["{data}/export.json:1: task 4: entity [8, 14, \"PER\"] is outside the text (length 11)"]),
    Case("Label Studio overlapping regions", "convert_iob.py", ["--input", "{data}/export.json", "--output", "{out}/out.conll"],
         {"data/export.json": '[\n' + json.dumps({"id": 5, "data": {"text": "Ada Lovelace met Bob"}, "annotations": [{"result": [
             {"type": "labels", "to_name": "text", "value": {"start": s, "end": e, "labels": ["PER"]}} for s, e in ((0, 12), (4, 12))]}]})
          + '\n]\n'},
         ["{data}/export.json:2: task 5: entity [4, 12, \"PER\"] overlaps entity [0, 12, \"PER\"]"]),
    Case("Label Studio task without its text field", "convert_iob.py", ["--input", "{data}/export.json", "--output", "{out}/out.conll"],
         {"data/export.json": json.dumps([{"id": 6, "data": {"title": 3, "n": 1}, "annotations": [{"result": []}]}])},
         ["{data}/export.json:1: task 6: missing text field"]),
    Case("Label Studio result without labels", "convert_iob.py", ["--input", "{data}/export.json", "--output", "{out}/out.conll"],
         {"data/export.json": json.dumps([{"id": 7, "data": {"text": "Ada"}, "annotations": [{"result": [
             {"id": "r1", "type": "labels", "to_name": "text", "value": {"start": 0, "end": 3}}]}]}])},
         ["{data}/export.json:1: task 7: result r1 has no labels"]),
    Case("doccano offsets past the text", "convert_iob.py", ["--input", "{data}/doccano.jsonl", "--output", "{out}/out.conll"],
         {"data/doccano.jsonl": '{"text": "Ada", "label": [[0, 3, "PER"]]}\n{"text": "Bob", "label": [[0, 9, "PER"]]}\n'},
         ["{data}/doccano.jsonl:2:", '[0, 9, "PER"] is outside the text (length 3)']),
    Case("doccano record without text", "convert_iob.py", ["--input", "{data}/doccano.jsonl", "--output", "{out}/out.conll"],
         {"data/doccano.jsonl": '{"text": "Ada", "label": [[0, 3, "PER"]]}\n{"label": [[0, 3, "PER"]]}\n'},
         ["{data}/doccano.jsonl:2:", 'missing "text"']),
    Case("Prodigy overlapping spans", "convert_iob.py", ["--input", "{data}/prodigy.jsonl", "--output", "{out}/out.conll"],
         {"data/prodigy.jsonl": json.dumps({"text": "Ada Lovelace met Bob", "spans": [
             {"start": 0, "end": 12, "label": "PER"}, {"start": 4, "end": 16, "label": "PER"}], "answer": "accept"}) + "\n"},
         ["{data}/prodigy.jsonl:1:", '[4, 16, "PER"] overlaps entity [0, 12, "PER"]']),
    Case("truncated gzip file", "convert_iob.py", ["--input", "{data}/train.conll.gz", "--output", "{out}/out.jsonl"],
         {"data/train.conll.gz": gzip.compress(b"Ada B-PER\nwrote O\n" * 100)[:40]},
         ["{data}/train.conll.gz: cannot decompress (gzip)"]),
    *for_training_scripts("a time budget that is not a duration",
                          ["--model_name_or_path", "{encoder}", "--train_file", "{data}/train.conll", "--do_train",
                           "--output_dir", "{out}", "--time_budget", "10 minutes"],
                          files={"data/train.conll": "Ada B-PER\n"},
                          expect=["--time_budget: expected a duration such as 900, 15m, 1.5h or 1h30m, got '10 minutes'"]),
    *for_training_scripts("a layer-wise learning-rate decay above 1",
                          ["--model_name_or_path", "{encoder}", "--train_file", "{data}/train.conll", "--do_train",
                           "--output_dir", "{out}", "--layerwise_lr_decay", "1.2"],
                          files={"data/train.conll": "Ada B-PER\n"},
                          expect=["--layerwise_lr_decay must be in (0, 1], got 1.2"]),
    *for_training_scripts("Label Studio result without labels in the train file",
                          ["--model_name_or_path", "{encoder}", "--train_file", "{data}/train.json", "--do_train", "--output_dir", "{out}"],
                          files={"data/train.json": json.dumps([{"id": 8, "data": {"text": "Ada"}, "annotations": [{"result": [
                              {"id": "r2", "type": "labels", "to_name": "text", "value": {"start": 0, "end": 3, "labels": []}}]}]}])},
                          expect=["{data}/train.json:1: task 8: result r2 has no labels"]),
    Case("BRAT .ann without .txt", "convert_iob.py", ["--input", "{data}/brat", "--output", "{out}/out.conll"],
         {"data/brat/a.txt": "Ada wrote.\n", "data/brat/a.ann": "T1\tPER 0 3\tAda\n", "data/brat/b.ann": "T1\tPER 0 3\tBob\n"},
         ["{data}/brat/b.ann: ", "annotation file without its text file b.txt"]),
    Case("BRAT discontinuous span is reported, not fatal", "convert_iob.py", ["--input", "{data}/brat", "--output", "{out}/out.jsonl"],
         {"data/brat/a.txt": "Ada met Lovelace today.\n", "data/brat/a.ann": "T1\tPER 0 3;8 16\tAda Lovelace\n"},
         ["discontinuous 1", "{data}/brat/a.ann:1: T1 discontinuous span 0 3;8 16 resolved as its full extent 0 16"],
         status=0, check=brat_full_extent),
    Case("JSON integer tags without a label list", "convert_iob.py", ["--input", "{data}/in.jsonl", "--output", "{out}/out.conll"],
         {"data/in.jsonl": '{"tokens": ["Ada", "wrote"], "ner_tags": [1, 0]}\n'},
         ["{data}/in.jsonl:1:", "integer tags need a label list (--label_list)"]),
    Case("JSON integer tag outside the label list", "convert_iob.py",
         ["--input", "{data}/in.jsonl", "--output", "{out}/out.conll", "--label_list", "O,B-PER"],
         {"data/in.jsonl": '{"tokens": ["Ada", "wrote"], "ner_tags": [-1, 0]}\n'},
         ["{data}/in.jsonl:1:", "tag id -1 is outside the label list (2 labels)"]),
    Case("JSON token field is a string", "convert_iob.py", ["--input", "{data}/in.jsonl", "--output", "{out}/out.conll"],
         {"data/in.jsonl": '{"tokens": "Ada wrote", "ner_tags": ["B-PER", "O"]}\n'},
         ["{data}/in.jsonl:1:", "field 'tokens' holds a string, expected a list"]),
    Case("CSV unterminated quote", "convert_iob.py", ["--input", "{data}/in.csv", "--output", "{out}/out.conll"],
         {"data/in.csv": 'tokens,ner_tags\n"[""Ada""]","[""B-PER""]"\n"[""Bob"", ""]","[""O""]\n'},
         ["{data}/in.csv:3:", "unterminated quote"]),
    Case("truncated JSON", "convert_iob.py", ["--input", "{data}/in.jsonl", "--output", "{out}/out.conll"],
         {"data/in.jsonl": '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": [\n'}, ["{data}/in.jsonl:2:", "invalid JSON"]),

    # --- run_ner.py and run_ner_no_trainer.py: the same data errors, and models, labels, windows, output ----
    *for_training_scripts("ragged column counts in the train file",
                          ["--model_name_or_path", "{encoder}", "--train_file", "{data}/train.conll", "--do_train", "--output_dir", "{out}"],
                          files={"data/train.conll": "Ada B-PER\nwrote O\n\nLovelace NNP I-PER\n"},
                          expect=["{data}/train.conll:4:", "expected 2 columns (like line 1), got 3"]),
    *for_training_scripts("I-X after O under --strict in a JSON test file",
                          ["--model_name_or_path", "{tagger}", "--test_file", "{data}/test.jsonl", "--do_predict", "--strict",
                           "--tagging_scheme", "iob2", "--output_dir", "{out}"],
                          files={"data/test.jsonl": '{"tokens": ["Ada", "wrote"], "ner_tags": ["B-PER", "O"]}\n'
                                                    '{"tokens": ["in", "big", "London"], "ner_tags": ["O", "O", "I-LOC"]}\n'},
                          expect=["{data}/test.jsonl:2:", "'I-LOC' on word 3 ('London') breaks the IOB2 scheme (--strict)"]),
    *for_training_scripts("BRAT .ann without .txt in a dataset folder",
                          ["--model_name_or_path", "{tagger}", "--dataset_name", "{data}/corpus", "--do_eval", "--output_dir", "{out}"],
                          files={"data/corpus/devel/a.txt": "Ada wrote.\n", "data/corpus/devel/a.ann": "T1\tPER 0 3\tAda\n",
                                 "data/corpus/devel/b.ann": "T1\tPER 0 3\tBob\n"},
                          expect=["{data}/corpus/devel/b.ann: ", "without its text file b.txt"]),
    *for_training_scripts("model folder does not exist",
                          ["--model_name_or_path", "{data}/no-such-model", "--test_file", str(SAMPLE / "test.conll"),
                           "--do_predict", "--output_dir", "{out}"],
                          expect=["{data}/no-such-model: ", "model folder not found"]),
    Case("model folder without config.json", "run_ner.py",
         ["--model_name_or_path", "{data}/empty-model", "--test_file", str(SAMPLE / "test.conll"), "--do_predict", "--output_dir", "{out}"],
         {"data/empty-model/notes.txt": "weights went elsewhere\n"}, ["{data}/empty-model: ", "no config.json in this folder"]),
    Case("slow (non-fast) tokenizer", "run_ner.py", ["--model_name_or_path", "{slow_tagger}", "--test_file",
         str(SAMPLE / "test.conll"), "--do_predict", "--output_dir", "{out}"], {},
         ["{slow_tagger}", "is a slow (Python) tokenizer; word alignment needs a fast one"]),
    *for_training_scripts("pretrained labels differ without --ignore_mismatched_sizes",
                          ["--model_name_or_path", "{foo_tagger}", "--train_file", str(SAMPLE / "train.conll"), "--do_train",
                           "--output_dir", "{out}"],
                          expect=["the labels of {foo_tagger} (3) differ from the data's", "pass --ignore_mismatched_sizes"]),
    *for_training_scripts("non-empty output_dir without --overwrite_output_dir",
                          ["--model_name_or_path", "{encoder}", "--train_file", str(SAMPLE / "train.conll"), "--do_train",
                           "--output_dir", "{out}"],
                          files={"out/weeks-of-work.conll": "Ada B-PER\n"},
                          expect=["{out}: --output_dir is not empty (1 entries); pass --overwrite_output_dir"]),
    *for_training_scripts("max_seq_length beyond the model's limit", PREDICT_SAMPLE + ["--max_seq_length", "1000"],
                          expect=["--max_seq_length 1000 is larger than the model's limit of 128 positions"]),
    Case("max_seq_length smaller than the stride", "run_ner.py", PREDICT_SAMPLE + ["--max_seq_length", "16", "--stride", "20"], {},
         ["--stride 20 must be smaller than the 14 sub-words a window holds (--max_seq_length 16 minus 2 special tokens)"]),
    Case("a sentence of 5,000 words works, windowed", "run_ner.py",
         ["--model_name_or_path", "{tagger}", "--test_file", "{data}/long.conll", "--do_predict", "--max_seq_length", "64",
          "--output_dir", "{out}", "--log_level", "info"],
         {"data/long.conll": LONG_SENTENCE}, status=0, check=five_thousand_predictions),
    # Labels only in the test split. Decided: (1) predicting with a trained model whose labels lack a type of the
    # test gold works, and that type's entities count as missed (recall 0); (2) when training, the label list
    # comes from every split given, so a type seen only in the test file still gets its B-/I- labels.
    *for_training_scripts("an empty test split", ["--model_name_or_path", "{tagger}", "--test_file", "{data}/test.conll",
                                                   "--do_predict", "--output_dir", "{out}"],
                          files={"data/test.conll": "-DOCSTART- -X- -X- O\n\n"},
                          expect=["{data}/test.conll: ", "no sentence"]),
    Case("labels only in the test split: trained model", "run_ner.py",
         ["--model_name_or_path", "{tagger}", "--test_file", "{data}/test.conll", "--do_predict", "--output_dir", "{out}"],
         {"data/test.conll": "Stefan B-PER\nvisited O\non O\nMonday B-DATE\n\nAnna B-PER\nran O\n"},
         status=0, check=unknown_type_counted_as_missed),
    Case("labels only in the test split: training", "run_ner.py",
         ["--model_name_or_path", "{encoder}", "--train_file", "{data}/train.conll", "--test_file", "{data}/test.conll",
          "--do_train", "--do_predict", "--max_steps", "1", "--save_strategy", "no", "--output_dir", "{out}"],
         {"data/train.conll": "Stefan B-PER\nwalked O\n\nAnna B-PER\nran O\n",
          "data/test.conll": "Stefan B-PER\nvisited O\non O\nMonday B-DATE\n"},
         status=0, check=type_only_in_test_is_learned),

    # --- predict_ner.py: raw text in, entities out -----------------------------------------------------------
    Case("model folder does not exist", "predict_ner.py",
         ["--model", "{data}/no-such-model", "--input", "{data}/in.txt", "--output", "{out}"], {"data/in.txt": "Ada wrote.\n"},
         ["{data}/no-such-model: ", "model folder not found"]),
    Case("an encoder that is not a token classifier", "predict_ner.py",
         ["--model", "{encoder}", "--input", "{data}/in.txt", "--output", "{out}"], {"data/in.txt": "Ada wrote.\n"},
         ["the model's labels are not NER tags"]),
    Case("slow (non-fast) tokenizer", "predict_ner.py",
         ["--model", "{slow_tagger}", "--input", "{data}/in.txt", "--output", "{out}"], {"data/in.txt": "Ada wrote.\n"},
         ["{slow_tagger}", "is a slow (Python) tokenizer"]),
    Case("NUL byte in raw text", "predict_ner.py", ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}"],
         {"data/in.txt": b"Ada wrote.\nBob\x00 read.\n"}, ["{data}/in.txt:2:", "NUL byte"]),
    Case("Latin-1 bytes in raw text without --encoding", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}"], {"data/in.txt": b"Ada wrote.\nCaf\xe9 au lait.\n"},
         ["{data}/in.txt:2:", "--encoding latin-1"]),
    Case("empty input", "predict_ner.py", ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}"],
         {"data/in.txt": "\n\n"}, ["{data}/in.txt: ", "no text to predict on (empty input)"]),
    Case("existing output without --overwrite", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{data}/entities.jsonl"],
         {"data/in.txt": "Ada wrote.\n", "data/entities.jsonl": '{"text": "hours of predictions"}\n'},
         ["{data}/entities.jsonl: ", "--output exists; pass --overwrite to replace it"]),
    Case("max_seq_length beyond the model's limit", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}", "--max_seq_length", "1000"],
         {"data/in.txt": "Ada wrote.\n"}, ["--max_seq_length 1000 is larger than the model's limit of 128 positions"]),
    Case("--errors on input without gold tags", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}", "--errors", "{data}/errors.jsonl"],
         {"data/in.txt": "Ada wrote.\n"}, ["{data}/in.txt: ", "--errors compares with gold tags, and the input has none"]),
    # An unknown label in a pre-annotation file: Label Studio 1.23 imports a prediction whose label its project
    # lacks (prediction validation is behind a feature flag, off by default), so the check is ours, before writing.
    Case("an unknown label in a pre-annotation file", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}", "--format", "labelstudio",
          "--label_config", "{data}/config.xml"],
         {"data/in.txt": "Ada wrote.\n", "data/config.xml": label_config("PER,LOC,ORG")},
         ["{data}/config.xml:2:", "the model's label 'MISC' not among the labels of <Labels name=\"ner\"> (PER, LOC, ORG)"]),
    Case("a labelling config that is not XML", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}", "--format", "labelstudio",
          "--label_config", "{data}/config.xml"],
         {"data/in.txt": "Ada wrote.\n", "data/config.xml": '<View>\n<Labels name="ner" toName="doc">\n<Label value="PER">\n</View>\n'},
         ["{data}/config.xml:4:", "not a labelling config: invalid XML: mismatched tag"]),
    Case("pre-annotations named as the labelling config names them", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{data}/pre.json", "--format", "labelstudio",
          "--label_config", "{data}/config.xml"],
         {"data/in.txt": "Stefan visited Oakhallow and Brinmoor with Anna Velk of the Brinmoor Council.\n",
          "data/config.xml": label_config("PER,Misc:MISC,LOC,ORG")}, status=0, check=regions_as_configured),
    # Gold words that differ from the predictions': the gold tags of another file must be for the input's words.
    Case("gold words differ from the predictions'", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}", "--gold", "{data}/gold.conll",
          "--errors", "{data}/errors.jsonl"],
         {"data/in.txt": GOLD_TEXT, "data/gold.conll": GOLD_CONLL.replace("Bob B-PER\nran", "Bob B-PER\nrun")},
         ["{data}/gold.conll:9:", "word 6 is 'run' here but 'ran' in {data}/in.txt (document 2, sentence 1): "
          "gold and predictions must have the same words"]),
    Case("a gold file that ends before the predictions", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{out}", "--gold", "{data}/gold.conll"],
         {"data/in.txt": GOLD_TEXT, "data/gold.conll": GOLD_CONLL[:GOLD_CONLL.index("Bob")]},
         ["{data}/gold.conll: ", "4 words here, 7 in {data}/in.txt: the gold file ends first, after word 4"]),
    Case("gold tags from another file with the same words work", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{data}/out.conll", "--format", "conll",
          "--gold", "{data}/gold.conll", "--errors", "{data}/errors.jsonl"],
         {"data/in.txt": GOLD_TEXT, "data/gold.conll": GOLD_CONLL}, status=0, check=gold_from_another_file),
    Case("raw text with CRLF and a BOM works", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{data}/out.jsonl"],
         {"data/in.txt": b"\xef\xbb\xbfAda Lovelace wrote.\r\nStefan visited Oakhallow.\r\n"}, status=0, check=raw_text_crlf_and_bom),
    Case("a raw-text sentence of 5,000 words works, windowed", "predict_ner.py",
         ["--model", "{tagger}", "--input", "{data}/in.txt", "--output", "{data}/out.jsonl", "--max_seq_length", "64"],
         {"data/in.txt": " ".join(LONG_WORDS[i % 9] for i in range(5000)) + "\n"}, status=0, check=raw_text_five_thousand_words),
    Case("--backend onnx on a model that was not exported", "predict_ner.py",
         ["--model", "{tagger}", "--backend", "onnx", "--input", "{data}/in.txt", "--output", "{out}"],
         {"data/in.txt": "Ada wrote.\n"}, ["{tagger}: ", "no model.onnx in this folder", "export_onnx.py"]),
    Case("--backend onnx with a GPU or a dtype asked for", "predict_ner.py",
         ["--model", "{tagger}", "--backend", "onnx", "--device", "cuda", "--input", "{data}/in.txt", "--output",
          "{out}"], {"data/in.txt": "Ada wrote.\n"},
         ["--backend onnx runs on the CPU at the export's own precision", "--device cuda", "--backend torch"]),

    # --- export_onnx.py: a trained model to ONNX, scored -------------------------------------------------------
    Case("export: not a trained model", "export_onnx.py", ["--model", "{encoder}", "--output", "{out}"], {},
         ["the model's labels are not NER tags"]),
    Case("export: model folder does not exist", "export_onnx.py", ["--model", "{data}/no-such-model", "--output", "{out}"],
         {}, ["{data}/no-such-model: ", "model folder not found"]),
    Case("export: existing output", "export_onnx.py", ["--model", "{tagger}", "--output", "{data}/exported"],
         {"data/exported/model.onnx": "an earlier export"}, ["{data}/exported: ", "--output exists"]),
    Case("export: an architecture that cannot be exported", "export_onnx.py",
         ["--model", "{fourier_tagger}", "--output", "{out}", "--trust_remote_code"], {},
         ["FourierForTokenClassification cannot be exported to ONNX", "aten::fft_fft"]),
    Case("export: onnxruntime missing", "export_onnx.py", ["--model", "{tagger}", "--output", "{out}"],
         {"data/hide/onnxruntime/__init__.py": "raise ImportError('No module named onnxruntime')\n"},
         ["ONNX needs onnxruntime, which is not installed", "pip install -r requirements-onnx.txt"],
         env={"PYTHONPATH": "{data}/hide"}),
    Case("export: validation file without gold tags", "export_onnx.py",
         ["--model", "{tagger}", "--output", "{out}", "--validation_file", "{data}/in.txt"], {"data/in.txt": "Ada wrote.\n"},
         ["{data}/in.txt: ", "--validation_file needs gold tags"]),
    Case("not a trained model folder", "upgrade_standard_loading.py", ["{data}"], {"data/in.txt": "Ada wrote.\n"},
         ["{data}: ", "not a trained model folder"]),
    Case("--copy_to exists", "upgrade_standard_loading.py", ["{tagger}", "--copy_to", "{data}"], {"data/in.txt": "x\n"},
         ["{data}: ", "--copy_to already exists"]),
]


# ------------------------------------------------------------------------------------------------ running a case


@pytest.fixture(scope="module")
def models(tmp_path_factory, tiny_model) -> Dict[str, Path]:
    """The model folders the cases name (built once for the module; tiny random weights)."""
    words = [line.split()[0] for line in (SAMPLE / "train.conll").read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("-DOCSTART-")]
    base = tmp_path_factory.mktemp("catalogue-models")
    tagger = make_model_dir(base / "tagger", words, labels=SAMPLE_LABELS)
    foo_tagger = make_model_dir(base / "foo-tagger", words, labels=["O", "B-FOO", "I-FOO"])
    # A model whose tokenizer is Python-only (ByT5's needs no vocabulary file): no tokenizer.json to be fast with.
    slow_tagger = base / "slow-tagger"
    slow_tagger.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tagger / name, slow_tagger / name)
    (slow_tagger / "tokenizer_config.json").write_text('{"tokenizer_class": "ByT5Tokenizer"}')
    fourier_tagger = make_fourier_model_dir(base / "fourier-tagger", words, SAMPLE_LABELS)
    return {"encoder": tiny_model, "tagger": tagger, "foo_tagger": foo_tagger, "slow_tagger": slow_tagger,
            "fourier_tagger": fourier_tagger}


def snapshot(folder: Path) -> Dict[str, str]:
    """Every file and folder under ``folder``, with a hash of each file's bytes."""
    state = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        state[key] = "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def fill(text: str, places: Dict[str, Path]) -> str:
    for name, path in places.items():
        text = text.replace("{" + name + "}", str(path))
    return text


def present(cli: str) -> bool:
    return (ROOT / CLIS[cli].script).is_file()


@dataclass
class Run:
    """One case prepared in its own folder, and its subprocess running in the background."""

    folder: Path
    places: Dict[str, Path]
    before: Dict[str, str]
    result: "Future[subprocess.CompletedProcess]"


def prepare(case: Case, folder: Path, models: Dict[str, Path]):
    places = {"data": folder / "data", "out": folder / "out", **models}
    (folder / "data").mkdir()
    for name, content in case.files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(fill(content, places), encoding="utf-8")
    argv = [fill(argument, places) for argument in case.argv] + list(CLIS[case.cli].common)
    env = {name: fill(value, places) for name, value in case.env.items()}
    return places, snapshot(folder), [sys.executable, str(ROOT / CLIS[case.cli].script), *argv], env


def execute(command: List[str], folder: Path, extra_env: Dict[str, str]) -> subprocess.CompletedProcess:
    # Offline, and run from the case folder: a stray file written in the working folder shows up as a change.
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               OMP_NUM_THREADS="1", **extra_env)
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(request, models, tmp_path_factory):
    """Every selected case started up front, a few at a time (each is mostly interpreter and library start-up,
    so they overlap well); each test then waits for its own and checks it."""
    selected = [item.callspec.params["case"] for item in request.session.items
                if getattr(item, "module", None) is request.module and "case" in getattr(getattr(item, "callspec", None), "params", {})]
    workers = max(1, min(4, os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers)
    started: Dict[str, Run] = {}
    # The slow ones first, so they do not end up alone at the end.
    for case in sorted(selected, key=lambda case: case.cli == "convert_iob.py"):
        if present(case.cli) and case.id not in started:
            folder = tmp_path_factory.mktemp("case")
            places, before, command, env = prepare(case, folder, models)
            started[case.id] = Run(folder, places, before, pool.submit(execute, command, folder, env))
    yield started
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case(case: Case, runs):
    if not present(case.cli):
        pytest.skip(f"{case.cli} is not in this checkout yet")
    if case.cli == "export_onnx.py" and not case.env and importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("export_onnx.py needs requirements-onnx.txt (the README's test command installs it)")
    run = runs[case.id]
    result = run.result.result()
    expected = [fill(text, run.places) for text in case.expect]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == case.status, f"status {result.returncode}\n{result.stderr[-3000:]}"
    if case.status == 0:
        for text in expected:
            assert text in result.stdout, (text, result.stdout[-3000:])
        case.check(run.folder, result)
        return
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, "expected one line on stderr, got:\n" + result.stderr[-3000:]
    assert lines[0].startswith("error: "), lines[0]
    for text in expected:
        assert text in lines[0], (text, lines[0])
    assert snapshot(run.folder) == run.before, "a failed run created or changed files"
    assert not (run.folder / "out").exists() or any(name.startswith("out/") for name in case.files)


def test_the_catalogue_covers_the_issue():
    """The 25 kinds of bad input of issue #7 each have a case (names as in the issue), and every CLI has cases."""
    names = {case.name for case in CASES}
    required = [
        "ragged column counts", "tag B_PER", "tag PER without prefix", "lower-case tag", "I-X after O under --strict",
        "empty file", "only -DOCSTART-", "CRLF line ends work", "UTF-8 BOM works", "Latin-1 bytes without --encoding",
        "NUL byte", "text/labels line counts differ", "words and labels on a line differ", "offsets beyond the text",
        "offsets inside a word", "overlapping offset entities", "BRAT .ann without .txt",
        "BRAT discontinuous span is reported, not fatal", "JSON integer tags without a label list",
        "JSON token field is a string", "CSV unterminated quote", "labels only in the test split: trained model",
        "labels only in the test split: training", "model folder does not exist", "model folder without config.json",
        "slow (non-fast) tokenizer", "pretrained labels differ without --ignore_mismatched_sizes",
        "non-empty output_dir without --overwrite_output_dir", "max_seq_length beyond the model's limit",
        "max_seq_length smaller than the stride", "a sentence of 5,000 words works, windowed",
    ]
    assert not [name for name in required if name not in names]
    assert {case.cli for case in CASES} == set(CLIS)


def test_the_catalogue_covers_issues_19_and_20():
    """The bad inputs of issue #19 (annotation-tool exports and pre-annotations) and #20 (error reports) each
    have a case, by name."""
    names = {case.name for case in CASES}
    required = [
        "Label Studio offsets past the text", "Label Studio overlapping regions", "Label Studio task without its text field",
        "Label Studio result without labels", "doccano offsets past the text", "Prodigy overlapping spans",
        "an unknown label in a pre-annotation file", "gold words differ from the predictions'", "an empty test split",
    ]
    assert not [name for name in required if name not in names]

"""convert_iob.py: format and scheme conversion, folder mode, statistics, overwriting, and one clear error line
(exit 2, no output) for every kind of bad input.

Most runs start the script in a subprocess, as a user would. The 36 format pairs call ``main(argv)`` in this
process instead, to keep the suite fast; it is the same code path minus the interpreter start.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nerkit.formats import FormatOptions, read_sentences, write_sentences
from nerkit.stats import count_documents

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "convert_iob.py"

CONLL = """-DOCSTART- O

Ada B-PER
Lovelace I-PER
visited O
London B-LOC
. O

IBM B-ORG
hired O
Grace B-PER
Hopper I-PER
, O
said O
Smith B-PER

-DOCSTART- O

The O
Tour B-MISC
de I-MISC
France I-MISC
ended O
in O
Paris B-LOC
. O

No O
entity O
here O
. O

"""
# The same sentences in IOB1 (B- only between two adjacent entities of one type) and BIOES.
IOB1_LINES = ["I-PER", "I-PER", "O", "I-LOC", "O", "I-ORG", "O", "I-PER", "I-PER", "O", "O", "I-PER"]
ADJACENT_IOB1 = "-DOCSTART- O\n\nBob I-PER\nAlice B-PER\nmet O\nCarol I-PER\nSmith I-PER\n\n"
ADJACENT_BIOES = "-DOCSTART- O\n\nBob S-PER\nAlice S-PER\nmet O\nCarol B-PER\nSmith E-PER\n\n"
ADJACENT_IOB2 = "-DOCSTART- O\n\nBob B-PER\nAlice B-PER\nmet O\nCarol B-PER\nSmith I-PER\n\n"


def run(*args, cwd=None):
    """Run the script in a subprocess; returns the CompletedProcess (text mode)."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("convert_iob", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def call(script, *args) -> int:
    """``main(argv)`` in this process; the exit status."""
    try:
        script.main([str(a) for a in args])
    except SystemExit as stop:
        return stop.code
    return 0


def files_under(folder: Path):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def tokens_and_tags(sentences):
    return [(s.tokens, s.ner_tags) for s in sentences]


@pytest.fixture
def conll_file(tmp_path):
    path = tmp_path / "in.conll"
    path.write_text(CONLL)
    return path


# ------------------------------------------------------------------------------------------------ formats

# Where each format lives, and the extra arguments that writing it needs (brat and text_labels cannot be
# told from a name).
LAYOUT = {
    "conll": ("{}.conll", []),
    "json": ("{}.jsonl", []),
    "csv": ("{}.csv", []),
    "offsets": ("{}.spacy.jsonl", []),
    "text_labels": ("text_{}.txt", ["--output_format", "text_labels"]),
    "brat": ("{}_brat", ["--output_format", "brat"]),
}
KEEPS_DOCUMENTS = {"conll", "json", "csv", "offsets", "brat"}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """The CoNLL fixture written in every format, by the formats' own writers."""
    folder = tmp_path_factory.mktemp("sources")
    (folder / "in.conll").write_text(CONLL)
    sentences = read_sentences(folder / "in.conll", "conll")
    paths = {}
    for format_name, (pattern, _) in LAYOUT.items():
        paths[format_name] = folder / pattern.format("in")
        if format_name != "conll":
            write_sentences(sentences, paths[format_name], format_name, FormatOptions())
    return sentences, paths


@pytest.mark.parametrize("target", sorted(LAYOUT))
@pytest.mark.parametrize("source", sorted(LAYOUT))
def test_every_format_pair(script, sources, source, target, tmp_path, capsys):
    original, paths = sources
    pattern, extra = LAYOUT[target]
    output = tmp_path / pattern.format("out")
    # The input format is guessed from the path (extension, partner file, .ann files in a folder).
    assert call(script, "--input", paths[source], "--output", output, *extra) == 0
    assert ": 4 sentences, 24 tokens, " in capsys.readouterr().out
    converted = read_sentences(output, target)
    assert tokens_and_tags(converted) == tokens_and_tags(original)
    if source in KEEPS_DOCUMENTS and target in KEEPS_DOCUMENTS:
        assert count_documents(converted) == 2
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_conll_to_json_in_a_subprocess(conll_file, tmp_path):
    result = run("--input", conll_file, "--output", tmp_path / "out.jsonl")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert records[0] == {"tokens": ["Ada", "Lovelace", "visited", "London", "."], "ner_tags": ["B-PER", "I-PER", "O", "B-LOC", "O"], "document_id": "doc-0001", "sentence_index": 0}
    assert [r["document_id"] for r in records] == ["doc-0001", "doc-0001", "doc-0002", "doc-0002"]
    assert "in.conll: 4 sentences, 24 tokens, 2 documents; entities LOC 2, MISC 1, ORG 1, PER 3; IOB2 (detected) -> IOB2, 0 repairs" in result.stdout
    assert (tmp_path / "out.jsonl").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_json_with_integer_tags_and_label_list(tmp_path):
    (tmp_path / "ids.jsonl").write_text('{"tokens": ["Ada", "wrote"], "ner_tags": [1, 0]}\n')
    result = run("--input", tmp_path / "ids.jsonl", "--output", tmp_path / "out.conll", "--label_list", "O, B-PER,I-PER")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.conll").read_text() == "Ada B-PER\nwrote O\n\n"


def test_token_and_tag_columns(tmp_path):
    (tmp_path / "four.txt").write_text("Ada NNP B-NP B-PER\nwrote VBD B-VP O\n\n")
    result = run("--input", tmp_path / "four.txt", "--output", tmp_path / "out.conll", "--tag_column", 3)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.conll").read_text() == "Ada B-PER\nwrote O\n\n"
    result = run("--input", tmp_path / "four.txt", "--output", tmp_path / "pos.conll", "--tag_column", 1, "--token_column", 0)
    assert result.returncode == 2 and "'NNP' is not a tag" in result.stderr


# ------------------------------------------------------------------------------------------------ schemes


def test_scheme_conversion_both_ways(tmp_path):
    (tmp_path / "iob1.conll").write_text(ADJACENT_IOB1)
    result = run("--input", tmp_path / "iob1.conll", "--output", tmp_path / "bioes.conll", "--scheme", "bioes")
    assert result.returncode == 0, result.stderr
    assert "IOB1 (detected) -> BIOES, 0 repairs" in result.stdout
    assert (tmp_path / "bioes.conll").read_text() == ADJACENT_BIOES
    result = run("--input", tmp_path / "bioes.conll", "--output", tmp_path / "iob2.conll", "--scheme", "iob2")
    assert (tmp_path / "iob2.conll").read_text() == ADJACENT_IOB2
    result = run("--input", tmp_path / "iob2.conll", "--output", tmp_path / "back.conll", "--scheme", "iob1")
    assert "IOB2 (detected) -> IOB1" in result.stdout
    assert (tmp_path / "back.conll").read_text() == ADJACENT_IOB1
    # Without --scheme the input's scheme is kept.
    result = run("--input", tmp_path / "bioes.conll", "--output", tmp_path / "same.conll")
    assert (tmp_path / "same.conll").read_text() == ADJACENT_BIOES


def test_repairs_are_counted_and_shown(tmp_path):
    # Read as IOB2 (forced), the IOB1 file has two entity starts written I-: two repairs.
    (tmp_path / "iob1.conll").write_text(ADJACENT_IOB1)
    result = run("--input", tmp_path / "iob1.conll", "--output", tmp_path / "out.conll", "--input_scheme", "iob2")
    assert result.returncode == 0, result.stderr
    assert "IOB2 -> IOB2, 2 repairs" in result.stdout
    assert f"repaired {tmp_path / 'iob1.conll'}:3: word 1 'Bob': I-PER -> B-PER; word 4 'Carol': I-PER -> B-PER" in result.stdout
    assert (tmp_path / "out.conll").read_text() == ADJACENT_IOB2


# ------------------------------------------------------------------------------------------------ folders


@pytest.fixture
def split_folder(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    blocks = CONLL.split("-DOCSTART- O\n\n")[1:]
    (folder / "train.conll").write_text("-DOCSTART- O\n\n" + blocks[0])
    (folder / "dev.conll").write_text("-DOCSTART- O\n\n" + blocks[1])
    (folder / "eng.testb").write_text(ADJACENT_IOB2)
    (folder / "README.md").write_text("not data\n")
    return folder


def test_folder_mode_keeps_split_names(split_folder, tmp_path):
    output = tmp_path / "json"
    result = run("--input", split_folder, "--output", output, "--output_format", "json", "--scheme", "bioes")
    assert result.returncode == 0, result.stderr
    assert files_under(output) == ["dev.jsonl", "test.jsonl", "train.jsonl"]
    assert read_sentences(output / "test.jsonl", "json")[0].ner_tags == ["S-PER", "S-PER", "O", "B-PER", "E-PER"]
    assert [line.split(":")[0] for line in result.stdout.splitlines() if " sentences, " in line] == ["train", "dev", "test"]


def test_folder_mode_to_text_labels_writes_label_ids(split_folder, tmp_path):
    output = tmp_path / "nemo"
    result = run("--input", split_folder, "--output", output, "--output_format", "text_labels")
    assert result.returncode == 0, result.stderr
    assert files_under(output) == ["label_ids.csv", "labels_dev.txt", "labels_test.txt", "labels_train.txt", "text_dev.txt", "text_test.txt", "text_train.txt"]
    assert (output / "text_train.txt").read_text().splitlines()[0] == "Ada Lovelace visited London ."
    assert (output / "labels_test.txt").read_text() == "B-PER B-PER O B-PER I-PER\n"
    assert (output / "label_ids.csv").read_text().split() == ["O", "B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER"]
    assert "report: lost_documents 3; 3 notes:" in result.stdout
    assert "text_labels cannot represent document boundaries: 1 document(s) written as plain sentences" in result.stdout
    # ... and back: a NeMo folder is a split folder too.
    again = run("--input", output, "--output", tmp_path / "conll", "--output_format", "conll")
    assert again.returncode == 0, again.stderr
    assert files_under(tmp_path / "conll") == ["dev.conll", "test.conll", "train.conll"]


def test_folder_mode_brat_both_ways(split_folder, tmp_path):
    brat = tmp_path / "brat"
    result = run("--input", split_folder, "--output", brat, "--output_format", "brat")
    assert result.returncode == 0, result.stderr
    assert {p.name for p in brat.iterdir()} == {"train", "dev", "test"}
    assert any(brat.glob("train/*.ann")) and any(brat.glob("train/*.txt"))
    back = run("--input", brat, "--output", tmp_path / "back", "--output_format", "conll")
    assert back.returncode == 0, back.stderr
    for split, name in (("train", "train.conll"), ("dev", "dev.conll"), ("test", "eng.testb")):
        original = read_sentences(split_folder / name, "conll")
        assert tokens_and_tags(read_sentences(tmp_path / "back" / f"{split}.conll", "conll")) == tokens_and_tags(original)


# ------------------------------------------------------------------------------------------------ --stats


def test_stats_beside_the_output_file(conll_file, tmp_path):
    output = tmp_path / "out.jsonl"
    result = run("--input", conll_file, "--output", output, "--stats", "--scheme", "iob2")
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "out.jsonl.stats.json").read_text())
    assert (stats["sentences"], stats["tokens"], stats["documents"]) == (4, 24, 2)
    assert stats["entities"] == {"LOC": 2, "MISC": 1, "ORG": 1, "PER": 3}
    assert stats["labels"]["O"] == 13 and stats["labels"]["I-MISC"] == 2
    assert stats["conversion"]["input_scheme"] == "IOB2" and stats["conversion"]["output_scheme"] == "IOB2"
    weights, labels = stats["class_weights"], stats["labels"]
    assert sum(labels[label] * weights[label] for label in labels) == pytest.approx(24)  # mean weight 1
    assert weights["I-LOC"] == 1.0  # in the label list, never seen
    label_ids = (tmp_path / "out.jsonl.label_ids.csv").read_text().split()
    assert label_ids[0] == "O" and sorted(label_ids) == sorted(stats["label_list"])
    assert any(line.split() == ["tokens", "24"] for line in result.stdout.splitlines())


def test_stats_in_folder_mode(split_folder, tmp_path):
    output = tmp_path / "out"
    result = run("--input", split_folder, "--output", output, "--output_format", "conll", "--stats")
    assert result.returncode == 0, result.stderr
    stats = json.loads((output / "stats.json").read_text())
    assert set(stats["splits"]) == {"train", "validation", "test"}
    assert stats["splits"]["test"]["entities"] == {"PER": 3}
    assert stats["class_weights_from"] == "train"
    assert stats["class_weights"] == stats["splits"]["train"]["class_weights"]
    assert (output / "label_ids.csv").read_text().split()[0] == "O"
    assert result.stdout.count("label ") == 3  # one table per split


def test_tokenizer_stats(script, conll_file, tmp_path, capsys):
    from test_stats import _tiny_tokenizer

    _tiny_tokenizer().save_pretrained(tmp_path / "tok")
    assert call(script, "--input", conll_file, "--output", tmp_path / "out.conll", "--tokenizer", tmp_path / "tok") == 0
    stats = json.loads((tmp_path / "out.conll.stats.json").read_text())  # --tokenizer implies --stats
    assert stats["lengths"]["subwords"]["max"] >= stats["lengths"]["words"]["max"]
    assert "sub-words / sentence" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert call(script, "--input", conll_file, "--output", tmp_path / "x.conll", "--tokenizer", tmp_path / "empty") == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: {tmp_path / 'empty'}: cannot load tokenizer") and error.count("\n") == 1
    assert not (tmp_path / "x.conll").exists()


def test_the_script_does_not_import_transformers():
    code = "import sys; sys.argv = ['x']; import convert_iob; print(sorted(m for m in ('transformers', 'torch', 'datasets') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.stdout.strip() == "[]", result.stderr


# ------------------------------------------------------------------------------------------------ overwriting


def test_refuses_to_overwrite_without_force(conll_file, tmp_path):
    output = tmp_path / "out.conll"
    output.write_text("keep me\n")
    result = run("--input", conll_file, "--output", output)
    assert result.returncode == 2
    assert result.stderr == f"error: {output}: output file exists; use --force to overwrite\n"
    assert output.read_text() == "keep me\n"
    # The side files count too.
    (tmp_path / "new.conll.stats.json").write_text("{}")
    result = run("--input", conll_file, "--output", tmp_path / "new.conll", "--stats")
    assert result.returncode == 2 and "new.conll.stats.json: output file exists" in result.stderr
    assert not (tmp_path / "new.conll").exists()
    result = run("--input", conll_file, "--output", output, "--force")
    assert result.returncode == 0, result.stderr
    assert output.read_text() == CONLL


def test_refuses_a_non_empty_output_folder(split_folder, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "dev.conll").write_text("old\n")
    result = run("--input", split_folder, "--output", tmp_path / "out", "--output_format", "conll")
    assert result.returncode == 2 and "dev.conll: output file exists" in result.stderr
    assert files_under(tmp_path / "out") == ["dev.conll"]
    assert run("--input", split_folder, "--output", tmp_path / "out", "--output_format", "conll", "--force").returncode == 0
    assert files_under(tmp_path / "out") == ["dev.conll", "test.conll", "train.conll"]


# ------------------------------------------------------------------------------------------------ bad input

BAD_INPUTS = {
    # name: (files to write, extra arguments, the file and line the error must name, text in the message)
    "ragged columns": ({"in.conll": "Ada NNP B-PER\nLovelace B-PER\n"}, [], "in.conll:2", "expected 3 columns"),
    "bad tag": ({"in.conll": "Ada B-PER\nwrote O\n\nShe B_PER\n"}, [], "in.conll:4", "did you mean 'B-PER'"),
    "lower-case tag": ({"in.conll": "Ada b-per\n"}, [], "in.conll:1", "'b-per' is not a tag"),
    "empty file": ({"in.conll": ""}, [], "in.conll", "empty file"),
    "only DOCSTART": ({"in.conll": "-DOCSTART- -X- -X- O\n\n"}, [], "in.conll", "-DOCSTART-"),
    "latin-1 bytes": ({"in.conll": b"Ada B-PER\n\nCaf\xe9 B-LOC\n"}, [], "in.conll:3", "--encoding latin-1"),
    "text/labels words": ({"text_in.txt": "Ada wrote\nShe did\n", "labels_in.txt": "B-PER O\nO\n"}, [], "labels_in.txt:2", "1 labels for 2 words"),
    "text/labels lines": ({"text_in.txt": "Ada wrote\nShe did\n", "labels_in.txt": "B-PER O\n"}, [], "labels_in.txt", "has 2 lines but"),
    "offsets outside text": ({"in.spacy.jsonl": '{"text": "Ada", "entities": [[0, 3, "PER"]]}\n{"text": "Bob", "entities": [[0, 10, "PER"]]}\n'}, [], "in.spacy.jsonl:2", "outside the text"),
    "invalid json": ({"in.jsonl": '{"tokens": ["a"], "ner_tags": ["O"]}\n{"tokens": [\n'}, [], "in.jsonl:2", "JSON"),
    "ann without txt": ({"brat/a.txt": "Ada wrote.\n", "brat/a.ann": "T1\tPER 0 3\tAda\n", "brat/b.ann": "T1\tPER 0 3\tBob\n"}, [], "b.ann", ".txt"),
    "strict I-X after O": (
        {"in.conll": "Ada B-PER\nwrote O\n\nBob B-PER\nsaw O\nParis B-LOC\n\nin O\nLondon I-LOC\n"},
        ["--strict"],
        "in.conll:8",
        "'I-LOC' cannot follow 'O' in IOB2",
    ),
    "output extension": ({"in.conll": "Ada B-PER\n"}, [], "out", "--output_format"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_error_line_and_no_output(case, tmp_path):
    files, extra, location, message = BAD_INPUTS[case]
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    source = tmp_path / ("brat" if name.startswith("brat/") else next(iter(files)))
    output = tmp_path / ("out" if case == "output extension" else "sub" / Path("out.jsonl"))
    before = files_under(tmp_path)
    result = run("--input", source, "--output", output, *extra)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and f"{location}:" in lines[0] and message in lines[0], lines[0]
    assert files_under(tmp_path) == before  # no output, no folder, no staging left-overs
    assert result.stdout == ""


def test_latin1_works_with_its_encoding(tmp_path):
    (tmp_path / "in.conll").write_bytes(b"Caf\xe9 B-LOC\n")
    result = run("--input", tmp_path / "in.conll", "--output", tmp_path / "out.conll", "--encoding", "latin-1")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.conll").read_bytes() == "Café B-LOC\n\n".encode("utf-8")  # output is UTF-8


def test_a_failing_writer_leaves_nothing(tmp_path):
    # A word with a space is fine in JSON but cannot be written to CoNLL: the error comes at write time,
    # after the output folder would have been made.
    (tmp_path / "in.jsonl").write_text('{"tokens": ["New York", "x"], "ner_tags": ["B-LOC", "O"]}\n')
    result = run("--input", tmp_path / "in.jsonl", "--output", tmp_path / "new" / "deeper" / "out.conll", "--stats")
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1
    assert f"{tmp_path / 'new' / 'deeper' / 'out.conll'}" in result.stderr and "'New York'" in result.stderr
    assert files_under(tmp_path) == ["in.jsonl"]


# ------------------------------------------------------------------------------------------------ real data


def test_conll2003_train(shared_data, tmp_path):
    output = tmp_path / "X.jsonl"
    result = run("--input", shared_data / "conll2003" / "eng.train", "--output", output, "--scheme", "iob2", "--stats")
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "X.jsonl.stats.json").read_text())
    assert (stats["sentences"], stats["tokens"], stats["documents"]) == (14041, 203621, 946)
    assert stats["entities"] == {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}
    # The original release is IOB1 with two B-MISC right after O (README.txt of the data): two repairs.
    assert stats["conversion"]["input_scheme"] == "IOB1" and stats["conversion"]["repairs"]["all"]["repairs"] == 2
    assert stats["scheme"] == "IOB2" and set(stats["labels"]) == {"O"} | {f"{p}-{t}" for p in "BI" for t in ("LOC", "MISC", "ORG", "PER")}
    assert sum(1 for _ in output.open()) == 14041


def test_ncbi_disease_brat_folder(shared_data, tmp_path):
    # BRAT split folders (train/ devel/ test/) in, CoNLL files out; mention counts from the data's README.txt.
    result = run("--input", shared_data / "ncbi_disease_brat", "--output", tmp_path / "out", "--output_format", "conll", "--stats")
    assert result.returncode == 0, result.stderr
    assert files_under(tmp_path / "out") == ["dev.conll", "label_ids.csv", "stats.json", "test.conll", "train.conll"]
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert {split: s["documents"] for split, s in stats["splits"].items()} == {"train": 593, "validation": 100, "test": 100}
    assert stats["splits"]["validation"]["entities"] == {"CompositeMention": 35, "DiseaseClass": 126, "Modifier": 214, "SpecificDisease": 412}
    assert stats["splits"]["test"]["entity_total"] == 960
    assert stats["conversion"]["notes"] and "report: " in result.stdout

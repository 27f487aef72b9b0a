"""Prediction across processes: ``predict_ner.py`` and ``run_ner.py --do_predict`` under
``torchrun --nproc_per_node 2`` write one output, in input order, byte-identical to one process's (both at one
thread a process, as torchrun sets it), and each process tagged its own share of the input."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest
from launching import REPO, SAMPLE, free_port, run_together, torchrun

from tiny_models import make_model_dir

SAMPLE_LABELS = ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


@pytest.fixture(scope="module")
def tagger(tmp_path_factory):
    words = [line.split()[0] for line in (SAMPLE / "train.conll").read_text().splitlines()
             if line.strip() and not line.startswith("-DOCSTART-")]
    return make_model_dir(tmp_path_factory.mktemp("tagger"), words, labels=SAMPLE_LABELS)


def one_thread() -> dict:
    return dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))


@pytest.mark.parametrize("output_format", ["jsonl", "conll"])
def test_predict_ner_on_two_processes_writes_what_one_writes(output_format, tagger, tmp_path):
    # 2,700 sentences: three chunks of whole documents (1,024 sentences a chunk), two for the first process.
    source = tmp_path / "input.conll"
    source.write_text((SAMPLE / "train.conll").read_text() * 3)
    arguments = ["predict_ner.py", "--model", tagger, "--input", source, "--format", output_format]
    run_together([[sys.executable, *arguments, "--output", tmp_path / "one.out"],
                  torchrun("--nproc_per_node", 2, "--master_port", free_port(), *arguments, "--output", tmp_path / "two.out")],
                 one_thread(), [tmp_path / "one.log", tmp_path / "two.log"])
    assert (tmp_path / "two.out").read_bytes() == (tmp_path / "one.out").read_bytes()
    shares = sorted(re.findall(r"process (\d) of 2: chunks (\[[\d, ]+\]), (\d+) sentences", (tmp_path / "two.log").read_text()))
    assert [(rank, chunks) for rank, chunks, _ in shares] == [("0", "[0, 2]"), ("1", "[1]")]
    assert sum(int(sentences) for _, _, sentences in shares) == 2700 and int(shares[1][2]) >= 1024
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


TEXTS = ["Peter Blackburn went to Brussels .", "EU rejects German call to boycott British lamb .", "Japan beat Syria ."]


@pytest.mark.parametrize("documents", [3, 1])
def test_predict_ner_with_fewer_documents_than_a_share_writes_each_once_in_input_order(documents, tagger, tmp_path):
    # 3 documents (or 1) on 2 processes: they do not divide, and all fit one chunk, so the second process gets none.
    source = tmp_path / "input.txt"
    source.write_text("".join(text + "\n" for text in TEXTS[:documents]))
    arguments = ["predict_ner.py", "--model", tagger, "--input", source, "--input_format", "text"]
    run_together([[sys.executable, *arguments, "--output", tmp_path / "one.jsonl"],
                  torchrun("--nproc_per_node", 2, "--master_port", free_port(), *arguments, "--output", tmp_path / "two.jsonl")],
                 one_thread(), [tmp_path / "one.log", tmp_path / "two.log"])
    written = (tmp_path / "two.jsonl").read_text()
    assert [json.loads(line)["text"] for line in written.splitlines()] == TEXTS[:documents]
    assert written == (tmp_path / "one.jsonl").read_text()
    shares = sorted(re.findall(r"process (\d) of 2: chunks (\[[\d, ]*\]), (\d+) sentences", (tmp_path / "two.log").read_text()))
    assert shares == [("0", "[0]", str(documents)), ("1", "[]", "0")]


def test_run_ner_do_predict_on_two_processes_writes_what_one_writes(tagger, tmp_path):
    arguments = ["run_ner.py", "--model_name_or_path", tagger, "--test_file", SAMPLE / "test.conll", "--do_predict",
                 "--report_to", "none", "--disable_tqdm", "true", "--per_device_eval_batch_size", 8]
    run_together([[sys.executable, *arguments, "--output_dir", tmp_path / "one"],
                  torchrun("--nproc_per_node", 2, "--master_port", free_port(), *arguments, "--output_dir", tmp_path / "two")],
                 one_thread(), [tmp_path / "one.log", tmp_path / "two.log"])
    for name in ("predictions.conll", "predictions.jsonl", "errors.jsonl"):
        assert (tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes(), name

"""The official scorer agrees: prediction files with gold tags, fed to conlleval, give our entity-level F1.

conlleval is the CoNLL shared tasks' perl script; no package registry we can reach ships the script itself, so
this runs the PyPI package ``conlleval`` (requirements-test.txt), a line-for-line Python port of it that keeps
its input rules: the last column is the predicted tag, the one before it the gold tag, every line has the same
number of columns, and only blank lines or lines starting with ``-X-`` are sentence boundaries.
"""

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nerkit.formats import read_sentences
from nerkit.inference.writing import write_conll
from nerkit.metrics import score
from nerkit.schemes import convert

REPO = Path(__file__).resolve().parent.parent


def conlleval_scores(path: Path) -> dict:
    """conlleval's own overall chunk scores (fractions) for a ``word gold predicted`` file."""
    done = subprocess.run([sys.executable, "-m", "conlleval", "-f", "json", str(path)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)["overall"]["chunks"]


def perturbed(tags, labels, rng: random.Random, rate: float = 0.08):
    """Gold tags with about ``rate`` of them swapped for another tag: missed, spurious, mistyped and cut
    entities, as a model's predictions would have."""
    return [[rng.choice(labels) if rng.random() < rate else tag for tag in sentence] for sentence in tags]


def check_agreement(sentences, tmp_path: Path, seed: int = 0) -> float:
    tokens = [s.tokens for s in sentences]
    gold = [s.ner_tags for s in sentences]
    labels = sorted({tag for sentence in gold for tag in sentence})
    predicted = perturbed(gold, labels, random.Random(seed))
    documents = [s.document_id or "" for s in sentences]
    path = tmp_path / "predictions.conll"
    write_conll(path, tokens, predicted, gold, documents)
    assert sum(line.startswith("-DOCSTART-") for line in path.read_text().splitlines()) == len(
        {d for d in documents if d})
    official = conlleval_scores(path)
    ours = score(gold, predicted)
    assert official["stats"]["gold"] == sum(v["number"] for v in ours["per_type"].values())
    assert round(100 * official["evals"]["f1"], 2) == round(100 * ours["f1"], 2)
    assert round(100 * official["evals"]["prec"], 2) == round(100 * ours["precision"], 2)
    assert round(100 * official["evals"]["rec"], 2) == round(100 * ours["recall"], 2)
    return ours["f1"]


def test_document_lines_read_as_outside(tmp_path):
    """A -X- in the gold column of a document line would be one gold entity per document, all missed."""
    path = tmp_path / "p.conll"
    write_conll(path, [["Ada", "wrote"], ["Bob"]], [["B-PER", "O"], ["B-PER"]], [["B-PER", "O"], ["B-PER"]],
                ["d1", "d2"])
    assert path.read_text().splitlines()[0] == "-DOCSTART- O O"
    official = conlleval_scores(path)
    assert official["stats"] == {"gold": 2, "pred": 2, "correct": 2}
    assert official["evals"]["f1"] == 1.0
    # The old form, for contrast: conlleval counts each document line as a gold entity that was missed.
    old = tmp_path / "old.conll"
    old.write_text(path.read_text().replace("-DOCSTART- O O", "-DOCSTART- -X- O"))
    assert conlleval_scores(old)["stats"] == {"gold": 4, "pred": 2, "correct": 2}


def test_sample_data_agrees_with_conlleval(tmp_path):
    sentences = read_sentences(REPO / "data" / "sample" / "test.conll")
    assert len({s.document_id for s in sentences}) > 1
    f1 = check_agreement(sentences, tmp_path)
    assert 0.3 < f1 < 1.0  # the perturbation leaves errors to count


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2"])
def test_conll2003_testb_agrees_with_conlleval(shared_data, tmp_path, scheme):
    sentences = read_sentences(shared_data / "conll2003" / "eng.testb")
    if scheme == "IOB2":  # the same corpus re-encoded: conlleval reads both
        for sentence in sentences:
            sentence.ner_tags = convert(sentence.ner_tags, "IOB1", "IOB2")
    opened_by_i = sum(tag.startswith("I-") and (i == 0 or s.ner_tags[i - 1] == "O")
                      for s in sentences for i, tag in enumerate(s.ner_tags))
    assert (opened_by_i > 0) == (scheme == "IOB1")  # IOB1 really: entities open with I-
    documents = {s.document_id for s in sentences}
    assert len(documents) > 200
    check_agreement(sentences, tmp_path, seed=1)


def test_wnut17_agrees_with_conlleval(shared_data, tmp_path):
    """An IOB2 corpus of its own (no documents)."""
    sentences = read_sentences(shared_data / "wnut17" / "emerging.test.annotated")
    check_agreement(sentences, tmp_path, seed=2)

"""Training reports: entity-level confusion counts, valid PNGs, the model card, and the scripts' one-line hook."""

import logging
import random
from pathlib import Path
from types import SimpleNamespace

import pytest

from nerkit import metrics
from nerkit.formats import read_sentences
from nerkit.reports import (
    MISSED,
    SPURIOUS,
    RunFacts,
    entity_confusion,
    model_card,
    report_training_run,
    write_training_reports,
)

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TYPES = ["LOC", "MISC", "ORG", "PER"]


def perturbed(gold, seed=0, rate=0.08):
    """Predicted tags: the gold ones with some words dropped to O or given a random tag."""
    rng = random.Random(seed)
    predicted = []
    for tags in gold:
        tags = list(tags)
        for index in range(len(tags)):
            draw = rng.random()
            if draw < rate / 2:
                tags[index] = "O"
            elif draw < rate:
                tags[index] = rng.choice("BI") + "-" + rng.choice(TYPES)
        predicted.append(tags)
    return predicted


def log_history(steps=120):
    history = [{"loss": 2.0 / (1 + step / 15), "learning_rate": 1e-4, "epoch": step / 40, "step": step}
               for step in range(10, steps + 1, 10)]
    history += [{"eval_f1": 0.3 + step / 400, "eval_loss": 0.5, "epoch": step / 40, "step": step} for step in (40, 80, 120)]
    history.append({"train_runtime": 42.0, "train_loss": 0.61, "epoch": 3.0, "step": steps})
    return history


def check_png(path, min_bytes=5_000):
    from matplotlib import image
    from PIL import Image

    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > min_bytes
    with Image.open(path) as picture:
        picture.verify()
    with Image.open(path) as picture:
        width, height = picture.size
        assert width > 300 and height > 200
        assert len(set(picture.convert("L").getdata())) > 10  # not a blank canvas
    assert image.imread(str(path)).shape[:2] == (height, width)


def test_confusion_counts_on_a_hand_made_example():
    gold = [
        ["B-PER", "I-PER", "O", "B-LOC", "O"],        # PER found; LOC predicted as ORG
        ["B-ORG", "I-ORG", "I-ORG", "O", "B-MISC"],   # ORG cut short (boundary error); MISC missed
        ["O", "O", "B-PER", "O", "O"],                # PER found; a spurious LOC
        ["B-LOC", "B-LOC", "O", "O", "O"],            # two adjacent LOCs read as one: two missed, one spurious
    ]
    predicted = [
        ["B-PER", "I-PER", "O", "B-ORG", "O"],
        ["B-ORG", "I-ORG", "O", "O", "O"],
        ["B-LOC", "O", "I-PER", "O", "O"],            # I-PER after O opens an entity, the conlleval way
        ["B-LOC", "I-LOC", "O", "O", "O"],
    ]
    confusion = entity_confusion(gold, predicted)
    assert confusion.types == TYPES
    assert confusion.count("PER", "PER") == 2
    assert confusion.count("LOC", "ORG") == 1
    assert confusion.count("ORG", MISSED) == 1 and confusion.count("MISC", MISSED) == 1
    assert confusion.count("LOC", MISSED) == 2
    assert confusion.count(SPURIOUS, "ORG") == 1 and confusion.count(SPURIOUS, "LOC") == 2
    assert confusion.boundary_errors == 3  # the cut ORG and both LOCs of the merged pair
    assert sum(confusion.counts.values()) == 7 + 3  # every gold entity once, plus the spurious predictions
    assert [confusion.row_total(t) for t in TYPES] == [3, 1, 1, 2]
    text = confusion.to_text("title")
    assert text.splitlines()[0] == "title" and MISSED in text and SPURIOUS in text and "Boundary errors" in text
    row = next(line for line in text.splitlines() if line.startswith("LOC"))
    assert row.split() == ["LOC", "0", "0", "1", "0", "2", "3"]
    assert confusion.to_dict()["matrix"]["LOC"][MISSED] == 2


def test_confusion_agrees_with_seqeval_scores():
    """Diagonal / row total is seqeval's recall and diagonal / column total its precision, per type."""
    gold = [s.ner_tags for s in read_sentences(SAMPLE / "dev.conll")]
    predicted = perturbed(gold)
    confusion = entity_confusion(gold, predicted)
    scores = metrics.score(gold, predicted)
    for name, row in scores["per_type"].items():
        assert confusion.row_total(name) == row["number"]
        assert confusion.count(name, name) / confusion.row_total(name) == pytest.approx(row["recall"])
        assert confusion.count(name, name) / max(confusion.column_total(name), 1) == pytest.approx(row["precision"])


def test_reports_are_valid_pngs_and_a_complete_model_card(tmp_path):
    gold = [s.ner_tags for s in read_sentences(SAMPLE / "dev.conll")]
    predicted = perturbed(gold, seed=1)
    scores = metrics.score(gold, predicted)
    run_info = {
        "script": "run_ner.py", "command": "python run_ner.py --model_name_or_path m --do_train",
        "base_model": "sentence-transformers/all-MiniLM-L6-v2", "labels": ["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"],
        "input_scheme": "IOB2", "split": "validation", "output_dir": str(tmp_path),
        "data": {"train": {"source": "data/sample/train.conll", "sentences": 900, "words": 11336,
                           "entities": {"LOC": 522, "PER": 372}}},
        "hyperparameters": {"learning_rate": 1e-4, "num_train_epochs": 3, "seed": 42},
        "other_scores": {"test": scores},
        "train_metrics": {"train_loss": 0.61, "train_runtime": 42.0, "epoch": 3.0},
    }
    written = write_training_reports(tmp_path, log_history(), scores, gold, predicted, run_info)
    assert set(written) == {"learning_curve.png", "per_type_f1.png", "confusion.txt", "confusion.png", "README.md"}
    for name in ("learning_curve.png", "per_type_f1.png", "confusion.png"):
        check_png(tmp_path / name)
    assert (tmp_path / "confusion.txt").read_text() == entity_confusion(gold, predicted).to_text("Entity-level confusion (validation)")

    card = (tmp_path / "README.md").read_text()
    assert card.startswith("---\n") and "base_model: sentence-transformers/all-MiniLM-L6-v2" in card
    for section in ("## Results", "### Errors", "## Data", "## Training hyper-parameters", "## Reproduce", "## Usage"):
        assert f"\n{section}\n" in card, section
    for name, row in scores["per_type"].items():
        assert f"| {name} | {row['precision']:.4f} | {row['recall']:.4f} | {row['f1']:.4f} | {row['number']} |" in card
    assert "**test**" in card and "python run_ner.py --model_name_or_path m --do_train" in card
    assert "| train | `data/sample/train.conll` | 900 | 11336 | 894 | 522 | 372 |" in card
    assert "| learning_rate | 0.0001 |" in card
    assert "predict_ner.py --model" in card and 'pipeline("token-classification"' in card
    assert "best validation F1 0.6000 at step 120" in card
    for image in ("learning_curve.png", "per_type_f1.png", "confusion.png"):
        assert f"]({image})" in card


def test_evaluation_only_run_skips_the_learning_curve(tmp_path):
    gold = [["B-PER", "O"], ["O", "O"]]
    scores = metrics.score(gold, gold)
    written = write_training_reports(tmp_path, [], scores, gold, gold, {"base_model": "/models/x", "split": "test"})
    assert "learning_curve.png" not in written and not (tmp_path / "learning_curve.png").exists()
    check_png(tmp_path / "confusion.png", min_bytes=2_000)
    card = (tmp_path / "README.md").read_text()
    assert "An evaluation of the token classifier `/models/x`" in card and "base_model:" not in card
    assert "learning_curve.png" not in card and "**test**" in card


def test_no_entities_and_no_evaluation_still_give_a_card(tmp_path):
    written = write_training_reports(tmp_path, log_history(), None, None, None, {})
    assert set(written) == {"learning_curve.png", "README.md"}
    assert "evaluated nothing" in (tmp_path / "README.md").read_text()
    empty = entity_confusion([["O", "O"]], [["O", "O"]])
    assert empty.types == [] and model_card({}, None, (), empty).count("```") >= 2


def test_report_training_run_from_script_objects(tmp_path, caplog):
    """The hook the training scripts call: argument objects and evaluators in, files out, never an exception."""
    import datasets

    sentences = read_sentences(SAMPLE / "dev.conll")[:40]
    raw = datasets.DatasetDict({
        split: datasets.Dataset.from_dict({"tokens": [s.tokens for s in sentences], "ner_tags": [s.ner_tags for s in sentences]})
        for split in ("train", "validation")
    })
    gold = [s.ner_tags for s in sentences]
    predicted = perturbed(gold, seed=2)
    evaluator = SimpleNamespace(scores=metrics.score(gold, predicted), tags=predicted, raw_split=raw["validation"])
    model_args = SimpleNamespace(model_name_or_path="prajjwal1/bert-tiny")
    data_args = SimpleNamespace(train_file="train.conll", validation_file="dev.conll", test_file=None, max_seq_length=128,
                                stride=None, context_size=0, label_all_tokens=False, constrained_decoding=True)
    training_args = SimpleNamespace(output_dir=str(tmp_path), learning_rate=5e-5, num_train_epochs=2.0, max_steps=-1,
                                    per_device_train_batch_size=16, seed=7, fp16=False,
                                    lr_scheduler_type=SimpleNamespace(value="linear"))
    facts = RunFacts.from_arguments(script=__file__, argv=["--do_train", "--output_dir", "out dir"], model_args=model_args,
                                    data_args=data_args, training_args=training_args, raw_datasets=raw,
                                    label_list=["O", "B-PER", "I-PER"], input_scheme="IOB2")
    written = report_training_run(tmp_path, log_history(), {"validation": evaluator, "test": SimpleNamespace(scores=None)},
                                  facts)
    assert set(written) == {"learning_curve.png", "per_type_f1.png", "confusion.txt", "confusion.png", "README.md"}
    card = (tmp_path / "README.md").read_text()
    assert "python test_reports.py --do_train --output_dir 'out dir'" in card  # the calling file's name
    assert "| lr_scheduler_type | linear |" in card and "| constrained_decoding | true |" in card
    assert "max_steps" not in card and "| fp16 |" not in card
    assert "| validation | `dev.conll` | 40 |" in card

    info = RunFacts.from_arguments(model_args=model_args, data_args=data_args, training_args=training_args,
                                   raw_datasets=raw, argv=[], script="run_ner_no_trainer.py").to_dict()
    assert info["command"] == "python run_ner_no_trainer.py" and info["data"]["train"]["sentences"] == 40

    broken = SimpleNamespace(scores=evaluator.scores, tags=predicted[:-1], raw_split=raw["validation"])
    with caplog.at_level(logging.WARNING, logger="nerkit.reports"):
        assert report_training_run(tmp_path / "again", [], {"validation": broken}) is None
    assert "could not write the training reports" in caplog.text


def test_a_pos_tag_set_gets_word_level_reports_of_a_size_a_person_can_open(tmp_path):
    """45 plain labels: the card and plots say word-level; the heat map drops per-cell counts (they are in
    confusion.txt) and stays small instead of growing 0.9 inch per label."""
    from PIL import Image

    rng = random.Random(3)
    labels = [f"T{index:02d}" for index in range(45)]
    gold = [[rng.choice(labels) for _ in range(12)] for _ in range(60)]
    predicted = [[tag if rng.random() < 0.8 else rng.choice(labels) for tag in tags] for tags in gold]
    scores = metrics.score(gold, predicted)
    run_info = {"script": "run_ner.py", "base_model": "m", "labels": labels, "input_scheme": "plain",
                "split": "validation", "output_dir": str(tmp_path)}
    written = write_training_reports(tmp_path, [], scores, gold, predicted, run_info)
    for name in ("per_type_f1.png", "confusion.png"):
        check_png(written[name])
        with Image.open(written[name]) as picture:
            assert picture.size[0] < 2500, (name, picture.size)
    assert "T44 " in (tmp_path / "confusion.txt").read_text()  # every label keeps its counts in the text table
    card = (tmp_path / "README.md").read_text()
    assert "token classification" in card and "Word-level scores" in card and "Word-level confusion" in card
    assert "Entity-level" not in card and "- ner\n" not in card

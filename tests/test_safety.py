"""Safety (issue #7): no remote code unless asked, no pickles of ours, safe loading, no path escapes.

- ``trust_remote_code`` is off by default in every CLI and is what reaches ``from_pretrained``;
- our code never pickles or unpickles: no ``pickle``/``dill``/``joblib``/... import, no ``torch.save``, every
  ``torch.load`` has ``weights_only=True``, no ``np.load(allow_pickle=True)``, no ``eval``/``exec``, no
  ``trust_remote_code=True`` (static checks over ``nerkit/``, the scripts and ``scripts/``, so a new one fails);
- a trained model is saved as ``model.safetensors`` (no ``pytorch_model.bin``), label maps, statistics and
  class weights are JSON, and the Trainer's ``training_args.bin`` pickle is replaced by ``training_args.json``;
  the only pickle-format files are the Trainer's / Accelerate's optimizer, scheduler and RNG states inside
  checkpoints, and resuming loads every one of them with ``torch.load(..., weights_only=True)``;
- paths from data (BRAT documents, dataset folders, saved datasets, document ids written as file names) never
  leave the folder they were given in.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from nerkit.errors import NerDataError, UserError
from nerkit.files import safe_join

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


# ------------------------------------------------------------------------------------------------ static checks


def our_python_files():
    files = sorted((ROOT / "nerkit").rglob("*.py")) + sorted(ROOT.glob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    return [path for path in files if "test" not in path.name]


PICKLING_MODULES = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def unsafe_calls(path: Path):
    """``line: what`` for every pickling or code-running construct in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] in PICKLING_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PICKLING_MODULES:
            found.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            owner = getattr(func.value, "id", None) if isinstance(func, ast.Attribute) else None
            keywords = {k.arg: k.value for k in node.keywords}
            constant = lambda key: getattr(keywords.get(key), "value", None)  # noqa: E731
            if owner == "torch" and name == "load" and constant("weights_only") is not True:
                found.append(f"{node.lineno}: torch.load without weights_only=True")
            if owner == "torch" and name == "save":
                found.append(f"{node.lineno}: torch.save (a pickle; use safetensors or JSON)")
            if name == "load" and owner in ("np", "numpy") and constant("allow_pickle") is True:
                found.append(f"{node.lineno}: np.load(allow_pickle=True)")
            if name in ("read_pickle", "to_pickle"):
                found.append(f"{node.lineno}: {name}")
            if isinstance(func, ast.Name) and name in ("eval", "exec"):
                found.append(f"{node.lineno}: {name}()")
            if constant("trust_remote_code") is True:
                found.append(f"{node.lineno}: trust_remote_code=True")
    return found


def test_our_code_pickles_nothing_and_loads_torch_files_weights_only():
    offenders = [f"{path.relative_to(ROOT)}:{finding}" for path in our_python_files() for finding in unsafe_calls(path)]
    assert not offenders, offenders


def test_the_static_check_catches_what_it_should(tmp_path):
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import pickle\nfrom joblib import dump\nimport torch, numpy as np\n"
        "torch.load('a')\ntorch.load('b', weights_only=False)\ntorch.load('c', weights_only=True)\n"
        "torch.save({}, 'd')\nnp.load('e', allow_pickle=True)\neval('1')\nf(x, trust_remote_code=True)\n"
    )
    assert [finding.split(":")[0] for finding in unsafe_calls(sample)] == ["1", "2", "4", "5", "7", "8", "9", "10"]


# ------------------------------------------------------------------------------------------------ remote code


def test_trust_remote_code_is_off_by_default_in_every_cli():
    from transformers import HfArgumentParser, TrainingArguments

    from nerkit.arguments import DataTrainingArguments, ModelArguments

    argv = ["--model_name_or_path", "m", "--train_file", "t.conll", "--output_dir", "o"]
    model_args, _, _ = HfArgumentParser((ModelArguments, DataTrainingArguments, TrainingArguments)).parse_args_into_dataclasses(argv)
    assert model_args.trust_remote_code is False
    if (ROOT / "run_ner_no_trainer.py").exists():
        from nerkit.loop_arguments import LoopArguments

        model_args, _, _ = HfArgumentParser((ModelArguments, DataTrainingArguments, LoopArguments)).parse_args_into_dataclasses(argv)
        assert model_args.trust_remote_code is False
    if (ROOT / "predict_ner.py").exists():
        import predict_ner

        assert predict_ner.build_parser().parse_args(["--model", "m", "--input", "i", "--output", "o"]).trust_remote_code is False


def test_loaders_pass_trust_remote_code_false_unless_asked(monkeypatch, tmp_path):
    import transformers

    from nerkit import modeling
    from nerkit.arguments import ModelArguments

    seen = []

    def record(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        raise OSError("stop here")

    for auto in (transformers.AutoConfig, transformers.AutoTokenizer, transformers.AutoModelForTokenClassification):
        monkeypatch.setattr(auto, "from_pretrained", record)
    for asked in (False, True):
        model_args = ModelArguments(model_name_or_path="some-org/model", trust_remote_code=asked)
        for load in (lambda: modeling.load_config(model_args), lambda: modeling.load_tokenizer(model_args, None),
                     lambda: modeling.load_model(model_args, None, ["O"])):
            with pytest.raises(UserError):
                load()
    assert seen == [False] * 3 + [True] * 3


# ------------------------------------------------------------------------------------------------ what training writes

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".joblib")
# Written by the Trainer / Accelerate themselves, inside checkpoints only, and loaded back with weights_only=True.
LIBRARY_STATE_FILES = {"optimizer.pt", "scheduler.pt", "rng_state.pth", "scaler.pt",
                       "optimizer.bin", "scheduler.bin", "sampler.bin"}


def check_saved_files(output_dir: Path, checkpoint_pattern: str) -> None:
    assert (output_dir / "model.safetensors").is_file()
    assert (output_dir / "config.json").is_file()
    label2id = json.loads((output_dir / "config.json").read_text())["label2id"]
    assert "O" in label2id
    for path in output_dir.rglob("*"):
        if not path.is_file():
            continue
        relative = path.relative_to(output_dir)
        assert path.name not in ("pytorch_model.bin", "training_args.bin"), relative
        if path.suffix in PICKLE_SUFFIXES:
            in_checkpoint = len(relative.parts) == 2 and Path(relative.parts[0]).match(checkpoint_pattern)
            assert in_checkpoint and (path.name in LIBRARY_STATE_FILES or path.name.startswith("random_states_")), relative


class TorchLoadSpy:
    """Wraps ``torch.load`` and remembers the ``weights_only`` of every call."""

    def __init__(self, monkeypatch):
        import torch

        self.calls = []
        original = torch.load

        def spy(*args, **kwargs):
            self.calls.append((str(args[0]) if args else str(kwargs.get("f")), kwargs.get("weights_only")))
            return original(*args, **kwargs)

        monkeypatch.setattr(torch, "load", spy)


def run_main(module, argv) -> int:
    try:
        module.main([str(a) for a in argv])
    except SystemExit as stop:
        return stop.code
    return 0


def test_run_ner_saves_safetensors_json_and_resumes_with_weights_only(tmp_path, tiny_model, monkeypatch):
    import run_ner

    out = tmp_path / "out"
    common = ["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll", "--max_train_samples", 32,
              "--do_train", "--max_seq_length", 32, "--per_device_train_batch_size", 8, "--save_strategy", "steps",
              "--save_steps", 2, "--report_to", "none", "--disable_tqdm", "true", "--output_dir", out]
    assert run_main(run_ner, common + ["--max_steps", 2]) == 0
    check_saved_files(out, "checkpoint-*")
    arguments = json.loads((out / "training_args.json").read_text())
    assert arguments["max_steps"] == 2 and arguments["save_steps"] == 2
    assert (out / "checkpoint-2" / "training_args.json").is_file()

    spy = TorchLoadSpy(monkeypatch)
    assert run_main(run_ner, common + ["--max_steps", 4, "--resume_from_checkpoint", "latest"]) == 0
    loaded = {Path(path).name: weights_only for path, weights_only in spy.calls}
    assert {"optimizer.pt", "scheduler.pt", "rng_state.pth"} <= set(loaded)
    assert all(weights_only is True for weights_only in loaded.values()), loaded
    check_saved_files(out, "checkpoint-*")


@pytest.mark.skipif(not (ROOT / "run_ner_no_trainer.py").exists(), reason="run_ner_no_trainer.py is not in this checkout yet")
def test_run_ner_no_trainer_saves_safetensors_and_resumes_with_weights_only(tmp_path, tiny_model, monkeypatch):
    import run_ner_no_trainer

    out = tmp_path / "out"
    common = ["--model_name_or_path", tiny_model, "--train_file", SAMPLE / "train.conll", "--max_train_samples", 32,
              "--do_train", "--max_seq_length", 32, "--per_device_train_batch_size", 8, "--checkpointing_steps", 2,
              "--output_dir", out]
    assert run_main(run_ner_no_trainer, common + ["--max_train_steps", 2]) == 0
    check_saved_files(out, "step_*")
    spy = TorchLoadSpy(monkeypatch)
    assert run_main(run_ner_no_trainer, common + ["--max_train_steps", 4, "--resume_from_checkpoint", "latest",
                                                  "--overwrite_output_dir"]) == 0
    assert spy.calls and all(weights_only is True for _, weights_only in spy.calls), spy.calls
    check_saved_files(out, "step_*")


def test_statistics_label_maps_and_class_weights_are_json(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(ROOT / "convert_iob.py"), "--input", str(SAMPLE / "dev.conll"),
                             "--output", str(tmp_path / "dev.jsonl"), "--stats"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    stats = json.loads((tmp_path / "dev.jsonl.stats.json").read_text())
    assert stats["class_weights"] and stats["label_list"][0] == "O"
    assert (tmp_path / "dev.jsonl.label_ids.csv").read_text().splitlines()[0] == "O"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.jsonl", "dev.jsonl.label_ids.csv", "dev.jsonl.stats.json"]


# ------------------------------------------------------------------------------------------------ paths from data


@pytest.mark.parametrize("name", ["../x.txt", "../../etc/passwd", "a/../../x", "/etc/passwd", "sub/../../x"])
def test_safe_join_refuses_names_that_leave_the_folder(tmp_path, name):
    with pytest.raises(NerDataError, match="escapes the folder"):
        safe_join(tmp_path, name)


def test_safe_join_allows_names_inside(tmp_path):
    assert safe_join(tmp_path, "a/b.txt") == (tmp_path / "a" / "b.txt").resolve()
    assert safe_join(tmp_path, "a/../b.txt") == (tmp_path / "b.txt").resolve()


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "private" / "secret.txt"
    path.parent.mkdir()
    path.write_text("SECRET-TOKEN-1234 B-PER\n")
    return path


def test_brat_symlink_out_of_the_folder_is_refused(tmp_path, secret):
    from nerkit.formats import read_sentences

    brat = tmp_path / "brat"
    brat.mkdir()
    (brat / "a.txt").write_text("Ada wrote.\n")
    (brat / "a.ann").write_text("T1\tPER 0 3\tAda\n")
    (brat / "b.txt").symlink_to(secret)
    with pytest.raises(NerDataError, match="escapes the folder") as caught:
        read_sentences(brat, "brat")
    assert "SECRET" not in str(caught.value)
    (brat / "b.txt").unlink()
    (brat / "b.txt").write_text("Bob read.\n")
    (brat / "b.ann").symlink_to(secret)
    with pytest.raises(NerDataError, match="escapes the folder"):
        read_sentences(brat, "brat")


def test_dataset_folder_symlink_out_of_the_folder_is_refused(tmp_path, secret):
    import subprocess
    import sys

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "dev.conll").write_text("Ada B-PER\n")
    (corpus / "train.conll").symlink_to(secret)
    result = subprocess.run([sys.executable, str(ROOT / "convert_iob.py"), "--input", str(corpus), "--output",
                             str(tmp_path / "out"), "--output_format", "json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "SECRET" not in result.stderr + result.stdout
    assert result.stderr == (f"error: {corpus / 'train.conll'}: links to {secret}, outside the dataset folder; give that "
                             "file with --train_file/--validation_file/--test_file if it is meant\n")
    assert not (tmp_path / "out").exists()


def test_saved_dataset_naming_paths_outside_is_refused(tmp_path):
    import datasets

    from nerkit.arguments import DataTrainingArguments
    from nerkit.data import load_data

    saved = tmp_path / "saved"
    datasets.DatasetDict({"validation": datasets.Dataset.from_dict({"tokens": [["Ada"]], "ner_tags": [["B-PER"]]})}).save_to_disk(str(saved))
    arguments = DataTrainingArguments(dataset_name=str(saved))
    assert load_data(arguments, splits=("validation",)).splits["validation"][0]["tokens"] == ["Ada"]

    os.rename(saved / "validation", tmp_path / "elsewhere")
    (saved / "dataset_dict.json").write_text(json.dumps({"splits": ["../elsewhere"]}))
    with pytest.raises(NerDataError, match="'../elsewhere' escapes the folder"):
        load_data(arguments, splits=("validation",))

    os.rename(tmp_path / "elsewhere", saved / "validation")
    (saved / "dataset_dict.json").write_text(json.dumps({"splits": ["validation"]}))
    state = json.loads((saved / "validation" / "state.json").read_text())
    arrow = state["_data_files"][0]["filename"]
    os.rename(saved / "validation" / arrow, tmp_path / arrow)
    state["_data_files"][0]["filename"] = f"../../{arrow}"
    (saved / "validation" / "state.json").write_text(json.dumps(state))
    with pytest.raises(NerDataError, match="escapes the folder"):
        load_data(arguments, splits=("validation",))


@pytest.mark.parametrize("document_id", ["../evil", "/tmp/evil", "a/b", "..", ".hidden", "x\\..\\y"])
def test_document_ids_cannot_become_paths_outside_a_brat_output(tmp_path, document_id):
    from nerkit.corpus import Sentence
    from nerkit.formats import write_sentences

    output = tmp_path / "deep" / "brat"
    with pytest.raises(NerDataError, match="not a safe file name"):
        write_sentences([Sentence(["Ada"], ["B-PER"], document_id=document_id)], output, "brat")
    assert sorted(p.name for p in tmp_path.rglob("*")) == []

"""Both training scripts as 2 real ranks on the CPU (gloo), through the documented launch commands, without
``--use_cpu``: on a machine without a GPU, launched processes are CPU processes (as upstream's are).

    torchrun --nproc_per_node 2 run_ner.py ...
    torchrun --nproc_per_node 2 run_ner_no_trainer.py ...
    accelerate launch --multi_gpu --num_processes 2 run_ner_no_trainer.py ...

What each rank trained on is observed from outside the scripts: a ``sitecustomize`` probe on ``PYTHONPATH``
registers a global forward hook that records, per process, the world size and every training input the token
classifier saw. The test checks the world size, that the two shards are disjoint and together are the training
set exactly once, and that the validation metrics of the 2-process run (gathered across ranks, each input
counted once) equal those of a 1-process evaluation of the saved final model.
"""

import json
import os
import socket
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

import run_ner
import run_ner_no_trainer
from nerkit.script_setup import cpu_requested

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"
TRAIN_SENTENCES = 40  # 48 inputs (some sentences are windowed): 3 batches of 8 per rank, nothing repeated

PROBE = '''
import atexit, json, os
_out = os.environ.get("NERKIT_TRAIN_PROBE")
if _out:
    import torch
    _seen = {"pid": os.getpid(), "rank": 0, "world_size": 1, "inputs": [], "batches": 0}

    def _record(module, args, kwargs, output):
        if not module.training or not type(module).__name__.endswith("ForTokenClassification"):
            return
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            _seen["rank"], _seen["world_size"] = torch.distributed.get_rank(), torch.distributed.get_world_size()
        _seen["batches"] += 1
        for ids, mask in zip(kwargs["input_ids"], kwargs["attention_mask"]):
            # A 2D mask marks the sub-words; the 4D mask of packed sentences does not: padding is id 0 ([PAD]).
            real = int(mask.sum()) if mask.dim() == 1 else int((ids != 0).sum())
            _seen["inputs"].append(ids[:real].tolist())

    torch.nn.modules.module.register_module_forward_hook(_record, with_kwargs=True)

    def _dump():
        if _seen["inputs"]:
            with open(os.path.join(_out, "rank-%d.json" % os.getpid()), "w") as stream:
                json.dump(_seen, stream)

    atexit.register(_dump)
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def train_inputs(model_dir: Path, pack_length=None):
    """The training inputs both scripts build (nerkit's features), as a multiset of sub-word id tuples. The tiny
    BERT keeps packed sentences apart with position ids from 0 (tests/test_packing.py), so the default packs."""
    from transformers import AutoTokenizer

    from nerkit.arguments import DataTrainingArguments
    from nerkit.data import load_data
    from nerkit.features import prepare_features
    from nerkit.labels import labels_from_data
    from nerkit.layout import DEFAULT_PACK_LENGTH, InputLayout, resolve_window

    data_args = DataTrainingArguments(train_file=str(SAMPLE / "train.conll"), max_train_samples=TRAIN_SENTENCES,
                                      pack_length=pack_length)
    raw = load_data(data_args, splits=("train",)).to_dataset_dict()
    labels = labels_from_data(raw["train"]["ner_tags"])
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    layout = InputLayout(*resolve_window(None, None, tokenizer),
                         DEFAULT_PACK_LENGTH if pack_length is None else pack_length, packed_position_offset=0)
    features = prepare_features(raw, tokenizer, {label: i for i, label in enumerate(labels)}, data_args, layout,
                                seed=42)  # both scripts' default seed
    return Counter(tuple(ids) for ids in features["train"]["input_ids"])


# Upstream's batching (8 sentences, one sentence per input) makes the epoch divide evenly between 2 ranks.
EVEN_BATCHES = ("--max_tokens_per_batch", "0", "--pack_length", "0")


LAUNCHERS = {
    "torchrun": lambda port: [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(port)],
    "accelerate": lambda port: [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
                                "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
                                "--main_process_port", str(port)],
}


def launch_two_ranks(script: str, model_dir: Path, output_dir: Path, probe_dir: Path, batching=EVEN_BATCHES,
                     launcher: str = "torchrun"):
    probe_dir.mkdir()
    (probe_dir / "sitecustomize.py").write_text(PROBE)
    records = probe_dir / "records"
    records.mkdir()
    env = dict(os.environ, NERKIT_TRAIN_PROBE=str(records),
               PYTHONPATH=os.pathsep.join([str(probe_dir), str(REPO), os.environ.get("PYTHONPATH", "")]))
    command = [
        *LAUNCHERS[launcher](free_port()), script,
        "--model_name_or_path", str(model_dir),
        "--train_file", str(SAMPLE / "train.conll"), "--validation_file", str(SAMPLE / "dev.conll"),
        "--max_train_samples", str(TRAIN_SENTENCES), "--max_eval_samples", "61",  # 61: uneven across 2 ranks
        "--output_dir", str(output_dir), "--do_train", "--do_eval",
        "--num_train_epochs", "1", "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "8",
        *batching,
    ]
    if script == "run_ner.py":
        command += ["--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "no"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [json.loads(path.read_text()) for path in sorted(records.glob("rank-*.json"))]


def check_shards(ranks, expected: Counter):
    assert len(ranks) == 2, f"{len(ranks)} processes trained"
    assert sorted(r["rank"] for r in ranks) == [0, 1]
    assert all(r["world_size"] == 2 for r in ranks)
    shards = [Counter(tuple(ids) for ids in r["inputs"]) for r in ranks]
    # Every training input seen once in all (the epoch divides evenly, so nothing is repeated), on one rank.
    assert shards[0] + shards[1] == expected
    assert sum(shards[0].values()) == sum(shards[1].values()) == sum(expected.values()) // 2
    # Identical inputs (the sample repeats a few sentences) are interchangeable, so disjointness is counted:
    # no input is seen on both ranks more often than it occurs in the data.
    for ids, count in (shards[0] & shards[1]).items():
        assert shards[0][ids] + shards[1][ids] <= expected[ids]


def metrics_without_timing(path: Path):
    results = json.loads(path.read_text())
    return {key: value for key, value in results.items() if not key.endswith(("runtime", "_per_second", "_time"))}


SCRIPTS = {"run_ner_no_trainer.py": run_ner_no_trainer, "run_ner.py": run_ner}


RUNS = [("run_ner_no_trainer.py", "torchrun"), ("run_ner.py", "torchrun"), ("run_ner_no_trainer.py", "accelerate")]


@pytest.fixture(scope="module", params=RUNS, ids=[f"{script}-{launcher}" for script, launcher in RUNS])
def two_rank_run(request, tiny_model, tmp_path_factory):
    """One 2-process training run per script and launcher, then a 1-process evaluation of its final model."""
    (script, launcher), module = request.param, SCRIPTS[request.param[0]]
    folder = tmp_path_factory.mktemp(script.replace(".py", ""))
    ranks = launch_two_ranks(script, tiny_model, folder / "ddp", folder / "probe", launcher=launcher)
    extra = ["--report_to", "none"] if script == "run_ner.py" else []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as each rank under torchrun (OMP_NUM_THREADS=1)
    try:
        module.main([
            "--model_name_or_path", str(folder / "ddp"), "--validation_file", str(SAMPLE / "dev.conll"),
            "--max_eval_samples", "61", "--output_dir", str(folder / "single"), "--do_eval",
            "--per_device_eval_batch_size", "8", "--pack_length", "0", *extra,
        ])
    finally:
        torch.set_num_threads(threads)
    return script, ranks, folder


def test_world_size_and_disjoint_shards(two_rank_run, tiny_model):
    _, ranks, _ = two_rank_run
    check_shards(ranks, train_inputs(tiny_model, pack_length=0))


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_token_budget_batches_are_shared_between_ranks(script, tiny_model, tmp_path):
    """Batches cut by a sub-word budget (the default): each rank gets whole batches, the same number of them
    (Accelerate repeats the first ones when the count is odd), and together they cover every input."""
    ranks = launch_two_ranks(script, tiny_model, tmp_path / "ddp", tmp_path / "probe", batching=("--max_tokens_per_batch", "300"))
    assert sorted(r["rank"] for r in ranks) == [0, 1] and all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["batches"] == ranks[1]["batches"] > 1
    expected = train_inputs(tiny_model)
    seen = Counter(tuple(ids) for r in ranks for ids in r["inputs"])
    assert set(seen) == set(expected)


def test_metrics_equal_one_process_evaluation(two_rank_run):
    """Precision, recall, F1, accuracy and per-type scores of the 2-rank run: each validation input counted once."""
    _, _, folder = two_rank_run
    two = metrics_without_timing(folder / "ddp" / "eval_results.json")
    one = metrics_without_timing(folder / "single" / "eval_results.json")
    two.pop("eval_loss"), one.pop("eval_loss")
    assert two == one
    assert two["eval_samples"] == 61
    assert (folder / "ddp" / "eval_report.txt").read_text() == (folder / "single" / "eval_report.txt").read_text()


def test_eval_loss_equals_one_process_evaluation(two_rank_run):
    script, _, folder = two_rank_run
    two = json.loads((folder / "ddp" / "eval_results.json").read_text())["eval_loss"]
    one = json.loads((folder / "single" / "eval_results.json").read_text())["eval_loss"]
    if script == "run_ner_no_trainer.py":
        # Summed per input, gathered once per input: the mean per labelled word-piece whatever the sharding.
        assert two == pytest.approx(one, rel=1e-6)
    else:
        # The Trainer averages batch means, so its loss depends a little on how batches fall on ranks.
        assert two == pytest.approx(one, rel=0.05)


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_more_processes_than_gpus_is_one_line(script, tiny_model, tmp_path, capsys, monkeypatch):
    """The one real mismatch: a machine with GPUs, fewer of them than the processes launched on it."""
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(SystemExit) as stop:
        SCRIPTS[script].main(["--model_name_or_path", str(tiny_model), "--train_file", str(SAMPLE / "train.conll"),
                              "--output_dir", str(tmp_path / "out"), "--do_train"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: launched 2 processes on a machine with 1 GPU(s): start at most 1 a machine "
        "(torchrun --nproc_per_node 1), or add --use_cpu to run all on the CPU"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, asked", [
    ([], False), (["--use_cpu"], True), (["--use_cpu", "--seed", "1"], True), (["--use_cpu", "false"], False),
    (["--use_cpu=True"], True), (["--use-cpu", "1"], True), (["--use_cpu_x"], False), (["--seed", "1"], False),
])
def test_use_cpu_is_read_before_the_arguments_are_parsed(argv, asked, monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    assert cpu_requested(argv) is asked


@pytest.mark.parametrize("text, asked", [('{"use_cpu": true}', True), ("use_cpu: false\n", False), ("seed: 1\n", False)])
def test_use_cpu_in_a_file_of_arguments(text, asked, tmp_path, monkeypatch):
    monkeypatch.delenv("ACCELERATE_USE_CPU", raising=False)
    path = tmp_path / ("args.json" if text.startswith("{") else "args.yaml")
    path.write_text(text)
    assert cpu_requested([str(path)]) is asked
    monkeypatch.setenv("ACCELERATE_USE_CPU", "true")  # accelerate launch --cpu
    assert cpu_requested([str(path)]) is True

"""Both training scripts as 2 real ranks on the CPU (gloo), through the documented launch commands, without
``--use_cpu``: on a machine without a GPU, launched processes are CPU processes (as upstream's are).

    torchrun --nproc_per_node 2 run_ner.py ...
    torchrun --nproc_per_node 2 run_ner_no_trainer.py ...
    accelerate launch --multi_gpu --num_processes 2 run_ner_no_trainer.py ...

What each rank trained on is observed from outside the scripts by the probe of ``tests/launching.py``. The test checks the world size, that the two shards are disjoint and together are the training
set exactly once, and that the validation metrics of the 2-process run (gathered across ranks, each input
counted once) equal those of a 1-process evaluation of the saved final model.
"""

import json
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from launching import (
    SAMPLE,
    check_shards,
    free_port,
    metrics_without_timing,
    probe_records,
    probed_environment,
    run_together,
    train_inputs,
)

import run_ner
import run_ner_no_trainer
from nerkit.script_setup import cpu_requested

TRAIN_SENTENCES = 40  # 48 inputs (some sentences are windowed): 3 batches of 8 per rank, nothing repeated


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
    env = probed_environment(probe_dir)
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
    run_together([command], env, [probe_dir / "launch.log"])
    return probe_records(probe_dir)


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
    check_shards(ranks, train_inputs(tiny_model, TRAIN_SENTENCES, pack_length=0))


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_token_budget_batches_are_shared_between_ranks(script, tiny_model, tmp_path):
    """Batches cut by a sub-word budget (the default): each rank gets whole batches, the same number of them
    (Accelerate repeats the first ones when the count is odd), and together they cover every input."""
    ranks = launch_two_ranks(script, tiny_model, tmp_path / "ddp", tmp_path / "probe", batching=("--max_tokens_per_batch", "300"))
    assert sorted(r["rank"] for r in ranks) == [0, 1] and all(r["world_size"] == 2 for r in ranks)
    assert ranks[0]["batches"] == ranks[1]["batches"] > 1
    expected = train_inputs(tiny_model, TRAIN_SENTENCES)
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
    """Summed per input, gathered once per input: the mean per labelled word-piece whatever the sharding (the
    Trainer's own mean of batch means would depend on how batches fall on ranks)."""
    _, _, folder = two_rank_run
    two = json.loads((folder / "ddp" / "eval_results.json").read_text())["eval_loss"]
    one = json.loads((folder / "single" / "eval_results.json").read_text())["eval_loss"]
    assert two == pytest.approx(one, rel=1e-6)


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

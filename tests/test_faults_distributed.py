"""Faults across processes, with real signals: both scripts as 2 processes under torchrun.

- Ctrl-C: SIGINT to torchrun (what a terminal's Ctrl-C does; torchrun passes it to each worker). With
  ``--save_on_interrupt`` every rank stops after the same optimizer step, ``checkpoint-N`` / ``step_N`` is
  saved, and ``--resume_from_checkpoint latest`` ends with the model and metrics of a run never interrupted.
- Ctrl-C to one rank only (SIGINT to that process): the other one learns of it after the same step, both save
  and stop, nothing hangs, and resuming ends as above.
- A rank killed (SIGKILL) in the middle of writing a checkpoint: torchrun stops the other one, the checkpoint
  being written never gets its name, the previous one is the latest, and resuming from it again ends with the
  uninterrupted run's model and metrics.

What each process does is seen through the probe of ``tests/launching.py`` (slowed batches, a pause inside the
second checkpoint's save, files that say where a process is).
"""

from __future__ import annotations

import json
import os
import re
import signal
from pathlib import Path

import pytest
from launching import (
    SAMPLE,
    free_port,
    kill_group,
    probed_environment,
    run_together,
    start,
    torchrun,
    wait_for_file,
)

from nerkit.loop import find_checkpoints
from nerkit.outputs import last_checkpoint

STEPS = 12  # 4 epochs of 3 steps (40 sentences, 48 inputs, 8 a batch on each of 2 ranks)
EVERY = 4  # a checkpoint every 4 steps: the second one, step 8, is the one a rank is killed in


def command(script: str, model: Path, output_dir: Path, *extra) -> list:
    arguments = [
        script, "--model_name_or_path", model, "--output_dir", output_dir,
        "--train_file", SAMPLE / "train.conll", "--validation_file", SAMPLE / "dev.conll",
        "--max_train_samples", 40, "--max_eval_samples", 30, "--do_train", "--do_eval", "--num_train_epochs", 4,
        "--learning_rate", "1e-3", "--per_device_train_batch_size", 8, "--per_device_eval_batch_size", 8,
        "--max_tokens_per_batch", 0, "--pack_length", 0, "--logging_steps", 1, "--save_on_interrupt", *extra,
    ]
    if script == "run_ner.py":
        arguments += ["--report_to", "none", "--disable_tqdm", "true", "--save_strategy", "steps", "--save_steps", EVERY]
    else:
        arguments += ["--checkpointing_steps", EVERY]
    return torchrun("--nproc_per_node", 2, "--master_port", free_port(), *arguments)


def latest(script: str, output_dir: Path):
    if script == "run_ner.py":
        return last_checkpoint(str(output_dir))
    found = find_checkpoints(str(output_dir))
    return found[-1][1] if found else None


def step_of(checkpoint: str) -> int:
    return int(Path(checkpoint).name.replace("checkpoint-", "").replace("step_", ""))


def outcome(output_dir: Path):
    from safetensors.torch import load_file

    results = json.loads((output_dir / "eval_results.json").read_text())
    metrics = {key: value for key, value in results.items() if not key.endswith(("runtime", "_per_second"))}
    weights = load_file(str(output_dir / "model.safetensors"))
    return metrics, {name: tensor.tolist() for name, tensor in weights.items()}


def resume(script: str, model: Path, output_dir: Path, probe_dir: Path) -> None:
    env = probed_environment(probe_dir)
    run_together([command(script, model, output_dir, "--resume_from_checkpoint", "latest")], env,
                 [probe_dir / "resumed.log"])


def signal_rank_and_wait(launcher, records: Path, ready: str, rank: int, signum: int) -> None:
    """Once file ``ready`` appears, send ``signum`` to worker ``rank`` alone, then wait for torchrun to end (a
    hang fails here); every process is killed at the end, whatever happened."""
    try:
        wait_for_file(records / ready, [launcher])
        os.kill(int((records / f"pid-rank-{rank}").read_text()), signum)
        (records / "release").touch()  # for a run held in its first batch
        launcher.wait(timeout=300)
    finally:
        kill_group(launcher)
        for worker in (0, 1):  # each worker runs in its own session
            try:
                os.killpg(int((records / f"pid-rank-{worker}").read_text()), signal.SIGKILL)
            except (ProcessLookupError, FileNotFoundError):
                pass


def assert_both_stopped_at_one_checkpoint(script: str, output_dir: Path, text: str) -> None:
    """One line from each rank (a progress bar may precede it on the shared stderr), both the same step and
    checkpoint, saved mid-training."""
    stops = re.findall(r"interrupted: training stopped at step \d+; checkpoint saved in [^;]+", text)
    assert len(stops) == 2 and len(set(stops)) == 1, text[-3000:]
    checkpoint = latest(script, output_dir)
    assert checkpoint is not None and f"checkpoint saved in {checkpoint}" in stops[0]
    assert 1 <= step_of(checkpoint) < STEPS, "stopped mid-training"
    assert not (output_dir / "model.safetensors").exists()


SCRIPTS = ["run_ner_no_trainer.py", "run_ner.py"]


@pytest.fixture(scope="module", params=SCRIPTS)
def reference(request, tiny_model, tmp_path_factory):
    """One uninterrupted 2-process run per script."""
    script = request.param
    folder = tmp_path_factory.mktemp(script.replace(".py", ""))
    env = probed_environment(folder / "probe")
    run_together([command(script, tiny_model, folder / "out")], env, [folder / "probe" / "run.log"])
    return script, outcome(folder / "out")


def test_ctrl_c_to_torchrun_saves_one_checkpoint_and_resumes_to_the_same_result(reference, tiny_model, tmp_path):
    script, expected = reference
    output_dir, probe_dir = tmp_path / "out", tmp_path / "probe"
    env = dict(probed_environment(probe_dir), NERKIT_PROBE_STEP_SECONDS="0.3", NERKIT_PROBE_HOLD_FIRST_BATCH="1")
    log = probe_dir / "interrupted.log"
    launcher = start(command(script, tiny_model, output_dir), env, log)
    try:
        wait_for_file(probe_dir / "records" / "trained-rank-1", [launcher])
        os.kill(launcher.pid, signal.SIGINT)  # torchrun alone: its workers run in their own sessions
        (probe_dir / "records" / "release").touch()
        launcher.wait(timeout=300)
    finally:
        kill_group(launcher)
    text = log.read_text()
    assert launcher.returncode != 0, text[-3000:]
    assert text.count("Traceback") == text.count("SignalException: Process"), "only torchrun's own, for its SIGINT"
    assert_both_stopped_at_one_checkpoint(script, output_dir, text)

    resume(script, tiny_model, output_dir, tmp_path / "probe-resumed")
    assert outcome(output_dir) == expected


def signalled_run(script: str, model: Path, tmp_path: Path, probe: dict, ready: str, signum: int):
    """A 2-process run sent ``signum`` at rank 1 alone once the probe leaves ``ready``; (torchrun's exit status,
    the output folder, the log)."""
    output_dir, probe_dir = tmp_path / "out", tmp_path / "probe"
    log = probe_dir / "run.log"
    launcher = start(command(script, model, output_dir), dict(probed_environment(probe_dir), **probe), log)
    signal_rank_and_wait(launcher, probe_dir / "records", ready, 1, signum)
    return launcher.returncode, output_dir, log.read_text()


def test_ctrl_c_to_one_rank_only_stops_both_at_one_step_and_resumes_to_the_same_result(reference, tiny_model, tmp_path):
    # SIGINT to rank 1 alone (kill -INT PID, or a terminal attached to one process): rank 0 never gets a signal
    # and must learn of it at the next step instead of waiting for rank 1 for ever in a collective.
    script, expected = reference
    status, output_dir, text = signalled_run(script, tiny_model, tmp_path, {"NERKIT_PROBE_HOLD_FIRST_BATCH": "1"},
                                             "trained-rank-1", signal.SIGINT)
    assert status != 0, text[-3000:]
    assert_both_stopped_at_one_checkpoint(script, output_dir, text)

    resume(script, tiny_model, output_dir, tmp_path / "probe-resumed")
    assert outcome(output_dir) == expected


def test_a_rank_killed_while_saving_leaves_the_previous_checkpoint_to_resume(reference, tiny_model, tmp_path):
    script, expected = reference
    # torchrun sees the rank die and stops the other
    status, output_dir, _ = signalled_run(script, tiny_model, tmp_path, {"NERKIT_PROBE_PAUSE_SAVE_RANK": "1"},
                                          "saving-rank-1", signal.SIGKILL)
    assert status != 0
    # The checkpoint of step 8 was being written: it is hidden, the one of step 4 is the latest.
    assert sorted(p.name for p in output_dir.iterdir() if p.name.startswith(".") and p.name.endswith(".partial"))
    assert step_of(latest(script, output_dir)) == EVERY

    resume(script, tiny_model, output_dir, tmp_path / "probe-resumed")
    assert outcome(output_dir) == expected

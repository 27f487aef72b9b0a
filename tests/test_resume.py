"""Kill run_ner_no_trainer.py mid-epoch with SIGKILL, resume it, and get exactly the uninterrupted run.

Exact on CPU: ``accelerator.save_state`` restores model, optimizer, scheduler and every RNG (dropout); the
shuffling order is a function of (seed, epoch) alone (Accelerate's seedable sampler), DataLoaders draw from
their own generator so iterating them never moves the global RNG, ``loop_state.json`` says how many batches of
the epoch are done, and ``skip_first_batches`` skips them. So the resumed run's float operations are the
uninterrupted run's, in the same order, and the final weights are bit-identical.

Exact for the same number of CPU threads: another thread count sums in another order (weights then differ by
about 1e-9). Every run here uses one thread, which is also much faster on a busy 2-core machine.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.numpy import load_file

import run_ner_no_trainer

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")  # the interrupted runs, subprocesses
        yield
    torch.set_num_threads(threads)


def arguments(model_dir: Path, output_dir: Path):
    return [
        "--model_name_or_path", str(model_dir),
        "--train_file", str(SAMPLE / "train.conll"), "--validation_file", str(SAMPLE / "dev.conll"),
        "--max_train_samples", "60", "--max_eval_samples", "30",
        "--per_device_train_batch_size", "4", "--num_train_epochs", "2", "--gradient_accumulation_steps", "2",
        "--checkpointing_steps", "2", "--output_dir", str(output_dir),
    ]


def metrics_without_timing(path: Path):
    results = json.loads(path.read_text())
    return {key: value for key, value in results.items() if not key.endswith(("runtime", "_per_second"))}


def start_run(model_dir: Path, output_dir: Path, log: Path, *extra) -> subprocess.Popen:
    with open(log, "w") as output:
        return subprocess.Popen([sys.executable, "run_ner_no_trainer.py", *arguments(model_dir, output_dir), *extra],
                                cwd=REPO, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(path: Path, process: subprocess.Popen, log: Path, timeout: float = 300.0) -> None:
    deadline = time.time() + timeout
    while not path.is_dir():
        if process.poll() is not None:
            pytest.fail(f"the run ended (status {process.returncode}) before {path.name} appeared:\n{log.read_text()[-3000:]}")
        if time.time() > deadline:
            process.kill()
            pytest.fail(f"{path.name} did not appear in {timeout} s")
        time.sleep(0.02)


def assert_same_run(resumed: Path, reference: Path) -> None:
    resumed_weights = load_file(resumed / "model.safetensors")
    reference_weights = load_file(reference / "model.safetensors")
    assert resumed_weights.keys() == reference_weights.keys()
    for name, tensor in reference_weights.items():
        assert (resumed_weights[name] == tensor).all(), name
    for results in ("eval_results.json", "train_results.json"):
        assert metrics_without_timing(resumed / results) == metrics_without_timing(reference / results)
    assert (resumed / "eval_report.txt").read_text() == (reference / "eval_report.txt").read_text()


@pytest.fixture(scope="module")
def uninterrupted(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted") / "run"
    run_ner_no_trainer.main(arguments(tiny_model, folder))
    return folder


def test_kill_mid_epoch_and_resume_matches_uninterrupted_run(tiny_model, tmp_path, uninterrupted):
    # A run killed by a real signal as soon as its first checkpoint is complete (9 optimizer steps an epoch).
    killed, log = tmp_path / "killed", tmp_path / "killed.log"
    process = start_run(tiny_model, killed, log)
    try:
        wait_for(killed / "step_2", process, log)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (killed / "model.safetensors").exists(), "the run finished before it was killed"

    # --resume_from_checkpoint with no value: the latest complete checkpoint, mid-epoch.
    latest = max(killed.glob("step_*"), key=lambda path: int(path.name[5:]))
    state = json.loads((latest / "loop_state.json").read_text())
    assert 0 < state["step_in_epoch"] < 17, state  # 68 inputs: 17 batches an epoch
    run_ner_no_trainer.main([*arguments(tiny_model, killed), "--resume_from_checkpoint"])
    assert_same_run(killed, uninterrupted)


def test_ctrl_c_with_save_on_interrupt_saves_then_resumes(tiny_model, tmp_path, uninterrupted):
    """SIGINT: the step in progress ends, its checkpoint is saved, exit status 130 with one line."""
    stopped, log = tmp_path / "stopped", tmp_path / "stopped.log"
    process = start_run(tiny_model, stopped, log, "--save_on_interrupt")
    try:
        wait_for(stopped / "step_2", process, log)
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, log.read_text()[-3000:]
    message = [line for line in log.read_text().splitlines() if line.startswith("interrupted: ")]
    assert len(message) == 1 and "checkpoint saved in" in message[0] and "--resume_from_checkpoint" in message[0]
    assert not (stopped / "model.safetensors").exists()
    run_ner_no_trainer.main([*arguments(tiny_model, stopped), "--resume_from_checkpoint", "--save_on_interrupt"])
    assert_same_run(stopped, uninterrupted)


def test_latest_checkpoint_is_the_most_advanced_complete_one(tmp_path):
    from nerkit.loop import LoopState, find_checkpoints, resolve_checkpoint

    for name, steps, epoch, batches in (("step_10", 10, 1, 3), ("epoch_0", 7, 1, 0), ("step_5", 5, 0, 10)):
        (tmp_path / name).mkdir()
        LoopState(completed_steps=steps, epoch=epoch, step_in_epoch=batches).save(str(tmp_path / name))
    (tmp_path / "step_12").mkdir()  # killed while saving: no loop_state.json
    (tmp_path / ".step_14.partial").mkdir()
    assert [Path(path).name for _, path in find_checkpoints(str(tmp_path))] == ["step_5", "epoch_0", "step_10"]
    assert Path(resolve_checkpoint("latest", str(tmp_path))).name == "step_10"


def test_resume_needs_a_checkpoint(tiny_model, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_ner_no_trainer.main([*arguments(tiny_model, tmp_path / "empty"), "--resume_from_checkpoint"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "no step_N or epoch_N checkpoint" in error[0]

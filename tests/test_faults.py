"""Faults (issue #7): killed writes, interrupted and resumed training, full or read-only disks, same seed twice.

- Writes are atomic: a process killed with SIGKILL while writing through :func:`nerkit.files.atomic_write`
  (what converted data, predictions, reports and results all go through) leaves the old file or none, never
  part of one; ``convert_iob.py`` killed at any moment leaves no output or all of it (its folder output appears
  whole or not at all); and no module of ours
  opens a file for writing any other way (a static check, so a new plain ``open(..., "w")`` fails here).
- Ctrl-C with ``--save_on_interrupt`` saves ``checkpoint-N`` and exits 130 with one line; the run resumed
  with ``--resume_from_checkpoint latest`` ends with exactly the model and metrics of a run never
  interrupted. A checkpoint half written when a run was killed is never picked as "latest".
- A full disk, a read-only place or a file in the way of ``--output_dir`` is an error before any work.
- The same seed gives the same metrics twice on CPU.

``run_ner_no_trainer.py`` checkpoints and resume are tested in that script's own tests.
"""

from __future__ import annotations

import ast
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from nerkit.errors import NerDataError, UserError, exit_on_user_error
from nerkit.files import atomic_write
from nerkit.outputs import last_checkpoint, prepare_output_dir

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "sample"


def hidden_leftovers(folder: Path):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ------------------------------------------------------------------------------------------------ atomic writes

SLOW_WRITER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from nerkit.files import atomic_write
    with atomic_write(sys.argv[1]) as stream:
        for chunk in range(3_000):
            stream.write(f"{chunk:08d} " + "x" * 1000 + "\\n")
            stream.flush()
            if chunk == 50:
                print("writing", flush=True)
            time.sleep(0.0005)
    print("done", flush=True)
    time.sleep(60)
    """
)


def start_writer(target: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-u", "-c", SLOW_WRITER, str(target), str(ROOT)], stdout=subprocess.PIPE, text=True)


def wait_for(process: subprocess.Popen, marker: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        if marker in line:
            return
        assert time.monotonic() < deadline, f"no {marker!r} from the child"
    raise AssertionError(f"the child ended before printing {marker!r} (status {process.wait()})")


@pytest.mark.parametrize("existing", [True, False], ids=["replacing", "new"])
def test_sigkill_while_writing_leaves_the_old_file_or_none(tmp_path, existing):
    target = tmp_path / "predictions.conll"
    if existing:
        target.write_text("the old, complete file\n")
    writer = start_writer(target)
    try:
        wait_for(writer, "writing")
        writer.send_signal(signal.SIGKILL)
        assert writer.wait(timeout=30) == -signal.SIGKILL
    finally:
        writer.kill()
    if existing:
        assert target.read_text() == "the old, complete file\n"
    else:
        assert not target.exists()
    # What was being written is in a hidden temporary file beside it, never under the final name.
    partial = [p for p in tmp_path.iterdir() if p.name != target.name]
    assert all(p.name.startswith(".predictions.conll.") and p.name.endswith(".tmp") for p in partial)


def test_sigkill_after_the_rename_leaves_the_whole_new_file(tmp_path):
    target = tmp_path / "predictions.conll"
    target.write_text("old\n")
    writer = start_writer(target)
    try:
        wait_for(writer, "done")
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=30)
    finally:
        writer.kill()
    lines = target.read_text().splitlines()
    assert len(lines) == 3_000 and lines[-1].startswith("00002999 ")
    assert hidden_leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "results.json"
    target.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(target) as stream:
            stream.write("half of the new")
            raise RuntimeError("the program fails while writing")
    assert target.read_text() == "old\n" and hidden_leftovers(tmp_path) == []


def test_disk_full_while_writing_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old\n")

    def full(_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("nerkit.files.os.fsync", full)
    with pytest.raises(NerDataError, match="No space left on device") as caught:
        with atomic_write(target) as stream:
            stream.write("new")
    assert str(target) in str(caught.value) and "\n" not in str(caught.value)
    assert target.read_text() == "old\n" and hidden_leftovers(tmp_path) == []


def big_conll(path: Path, sentences: int = 40_000) -> None:
    words = ["Ada", "Lovelace", "visited", "London", "in", "June", "."]
    tags = ["B-PER", "I-PER", "O", "B-LOC", "O", "O", "O"]
    block = "".join(f"{w} {t}\n" for w, t in zip(words, tags)) + "\n"
    path.write_text("-DOCSTART- O\n\n" + block * sentences)


def killed_after(command: list, seconds: float) -> None:
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)


def folder_contents(folder: Path) -> dict:
    """convert_iob.py's output folder, file by file (stats.json without the output folder's own path)."""
    files = {path.name: path.read_bytes() for path in folder.iterdir()}
    stats = json.loads(files.pop("stats.json"))
    stats["conversion"].pop("output")
    return {**files, "stats.json": stats}


def test_convert_iob_killed_at_any_moment_leaves_no_output_or_all_of_it(tmp_path):
    source = tmp_path / "big.conll"
    big_conll(source)
    command = [sys.executable, str(ROOT / "convert_iob.py"), "--input", str(source), "--stats", "--scheme", "bioes"]
    started = time.monotonic()
    reference = subprocess.run(command + ["--output", str(tmp_path / "reference.jsonl")], capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - started
    assert reference.returncode == 0, reference.stderr
    expected = {suffix: (tmp_path / f"reference.jsonl{suffix}").read_bytes() for suffix in ("", ".label_ids.csv")}
    for number, fraction in enumerate((0.3, 0.6, 0.8, 0.9, 0.97)):
        folder = tmp_path / f"kill{number}"
        folder.mkdir()
        killed_after(command + ["--output", str(folder / "out.jsonl")], duration * fraction)
        visible = sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))
        # Staged outputs are moved into place one by one: each file is absent or whole, never partial.
        for name in visible:
            suffix = name[len("out.jsonl"):]
            if suffix in expected:
                assert (folder / name).read_bytes() == expected[suffix], (fraction, name)
            else:
                assert suffix == ".stats.json" and json.loads((folder / name).read_text())["sentences"] == 40_000


def test_convert_iob_folder_output_appears_whole_or_not_at_all(tmp_path):
    """Folder mode: the output folder is the staging folder renamed, so a kill at any moment leaves no folder
    or the whole of it (each split, stats.json, label_ids.csv), never some of its files."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for split, sentences in (("train", 30_000), ("dev", 5_000), ("test", 5_000)):
        big_conll(corpus / f"{split}.conll", sentences)
    command = [sys.executable, str(ROOT / "convert_iob.py"), "--input", str(corpus), "--stats", "--scheme", "bioes",
               "--output_format", "json"]
    started = time.monotonic()
    reference = subprocess.run(command + ["--output", str(tmp_path / "reference")], capture_output=True, text=True, timeout=300)
    duration = time.monotonic() - started
    assert reference.returncode == 0, reference.stderr
    expected = folder_contents(tmp_path / "reference")
    assert len(expected) == 5 and (tmp_path / "reference").stat().st_mode & 0o777 == 0o777 & ~current_umask()
    outcomes = set()
    for number, fraction in enumerate((0.5, 0.8, 0.9, 0.95, 0.99, 1.5)):
        place = tmp_path / f"kill{number}"
        place.mkdir()
        killed_after(command + ["--output", str(place / "out")], duration * fraction)
        output = place / "out"
        if output.exists():
            assert folder_contents(output) == expected, fraction
        outcomes.add(output.exists())
        assert [p.name for p in place.iterdir() if not p.name.startswith(".")] in ([], ["out"])
    assert True in outcomes, "no run got to the end: the kills prove nothing"


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


# Our code writes files only through nerkit.files.atomic_write; these are the known, reviewed exceptions.
NON_ATOMIC_WRITES_ALLOWED = {
    ("nerkit/files.py", "atomic_write"),  # the temporary file itself
    ("nerkit/inference/reading.py", "_spooled"),  # stdin copied into a private temporary folder
    ("nerkit/loop.py", "save"),  # loop_state.json inside a checkpoint folder that is renamed into place when complete
    ("scripts/make_sample_data.py", "main"),  # the developers' generator of data/sample, not a user-facing tool
}


def our_python_files():
    files = sorted((ROOT / "nerkit").rglob("*.py")) + sorted(ROOT.glob("*.py")) + sorted((ROOT / "scripts").glob("*.py"))
    return [path for path in files if "test" not in path.name]


def writes_outside_atomic_write(path: Path):
    """``(function, line)`` of each plain write: ``open(..., "w"/"a"/"x"/"+")``, ``Path.write_text/bytes``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []

    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                callee = child.func
                called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", None)
                if called in ("write_text", "write_bytes"):
                    found.append((function, child.lineno))
                if called in ("open", "fdopen"):
                    modes = [a for a in child.args[1:2]] + [k.value for k in child.keywords if k.arg == "mode"]
                    if any(isinstance(m, ast.Constant) and isinstance(m.value, str) and set(m.value) & set("wax+") for m in modes):
                        found.append((function, child.lineno))
            visit(child, name)

    visit(tree, None)
    return found


def test_every_write_of_ours_goes_through_atomic_write():
    offenders = []
    for path in our_python_files():
        relative = path.relative_to(ROOT).as_posix()
        for function, line in writes_outside_atomic_write(path):
            if (relative, function) not in NON_ATOMIC_WRITES_ALLOWED:
                offenders.append(f"{relative}:{line} in {function}()")
    assert not offenders, "plain writes (use nerkit.files.atomic_write): " + ", ".join(offenders)


# ------------------------------------------------------------------------------------------------ output folder


def test_disk_full_is_an_error_at_the_start(tmp_path, monkeypatch):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("nerkit.outputs.shutil.disk_usage", lambda _: usage._replace(free=50 * 2**20))
    with pytest.raises(UserError, match=r"only 50 MiB free on the output disk"):
        prepare_output_dir(str(tmp_path / "out"), overwrite=False, do_train=True, resume_from_checkpoint=None)
    assert not (tmp_path / "out").exists()


def test_disk_full_stops_run_ner_before_it_reads_any_data(tmp_path, monkeypatch, capsys):
    import shutil

    import run_ner

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("nerkit.outputs.shutil.disk_usage", lambda _: usage._replace(free=10 * 2**20))
    with pytest.raises(SystemExit) as stop:
        # The train file does not exist: the error must be the disk, found first.
        run_ner.main(["--model_name_or_path", str(tmp_path / "no-model"), "--train_file", str(tmp_path / "missing.conll"),
                      "--do_train", "--output_dir", str(tmp_path / "out"), "--report_to", "none"])
    assert stop.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert error == [f"error: {tmp_path / 'out'}: only 10 MiB free on the output disk (need 200 MiB)"]
    assert sorted(os.listdir(tmp_path)) == []


def test_output_dir_below_a_file_is_an_error_at_the_start(tmp_path):
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    with pytest.raises(UserError, match="notes.txt is not a folder"):
        prepare_output_dir(str(tmp_path / "notes.txt" / "run"), overwrite=False, do_train=True, resume_from_checkpoint=None)
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder\n"


def test_unwritable_output_place_is_an_error_at_the_start():
    """/proc is not writable, not even by root: the nearest existing folder of the output is checked."""
    if not Path("/proc/self").is_dir():
        pytest.skip("no /proc here")
    with pytest.raises(UserError, match="cannot write to the output folder"):
        prepare_output_dir("/proc/nerkit-test/out", overwrite=False, do_train=True, resume_from_checkpoint=None)


def test_read_only_folder_is_an_error_at_the_start(tmp_path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:
            (folder / "probe").write_text("x")
        except PermissionError:
            pass
        else:
            pytest.skip("permission bits do not stop this user (root): see test_unwritable_output_place_is_an_error_at_the_start")
        with pytest.raises(UserError, match="cannot write to the output folder: Permission denied"):
            prepare_output_dir(str(folder / "out"), overwrite=False, do_train=True, resume_from_checkpoint=None)
        with pytest.raises(NerDataError, match="cannot write: Permission denied"):
            with atomic_write(folder / "results.json") as stream:
                stream.write("{}")
    finally:
        folder.chmod(0o755)


def test_half_written_checkpoint_is_never_the_latest(tmp_path):
    for step, complete in ((10, True), (20, True), (30, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")
        if complete:
            (folder / "trainer_state.json").write_text("{}")  # the Trainer writes it last
    (tmp_path / "checkpoint-x").mkdir()
    assert last_checkpoint(str(tmp_path)) == str(tmp_path / "checkpoint-20")
    assert prepare_output_dir(str(tmp_path), overwrite=False, do_train=True, resume_from_checkpoint="latest") == str(tmp_path / "checkpoint-20")


def test_ctrl_c_is_one_line_and_status_130(capsys):
    @exit_on_user_error
    def main():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        main()
    assert stop.value.code == 130 and capsys.readouterr().err == "interrupted\n"


# ------------------------------------------------------------------------------------------------ training runs

RUN_NER = ROOT / "run_ner.py"
NON_METRICS = ("runtime", "per_second", "model_preparation_time")


def training_command(model: Path, output_dir: Path, *extra) -> list:
    return [
        sys.executable, str(RUN_NER), "--model_name_or_path", str(model), "--output_dir", str(output_dir),
        "--train_file", str(SAMPLE / "train.conll"), "--validation_file", str(SAMPLE / "dev.conll"),
        "--max_eval_samples", "40", "--max_seq_length", "32", "--do_train", "--do_eval", "--max_steps", "24",
        "--per_device_train_batch_size", "4", "--logging_steps", "1", "--save_strategy", "no", "--seed", "3",
        "--report_to", "none", "--disable_tqdm", "true", *map(str, extra),
    ]


def metrics(output_dir: Path) -> dict:
    results = json.loads((output_dir / "eval_results.json").read_text())
    return {key: value for key, value in results.items() if not any(part in key for part in NON_METRICS)}


def weights(output_dir: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(output_dir / "model.safetensors"))


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(bool((a[name] == b[name]).all()) for name in a)


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory, tiny_model):
    """One uninterrupted training run (subprocess) that the other runs must reproduce exactly."""
    output_dir = tmp_path_factory.mktemp("reference") / "out"
    result = subprocess.run(training_command(tiny_model, output_dir), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return output_dir


def test_same_seed_gives_the_same_metrics_twice(reference_run, tiny_model, tmp_path):
    again = tmp_path / "again"
    result = subprocess.run(training_command(tiny_model, again), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert metrics(again) == metrics(reference_run)
    assert metrics(again)["eval_samples"] == 40 and "eval_f1" in metrics(again)
    assert same_weights(weights(again), weights(reference_run))


def test_ctrl_c_saves_a_checkpoint_and_resuming_gives_the_same_result(reference_run, tiny_model, tmp_path):
    output_dir = tmp_path / "out"
    command = training_command(tiny_model, output_dir, "--save_on_interrupt")
    unbuffered = dict(os.environ, PYTHONUNBUFFERED="1")  # see each logged line as soon as it is printed
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=unbuffered)
    try:
        # The first logged loss: training runs, so the Ctrl-C handler is installed.
        wait_for(process, "'loss'")
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=300)
    finally:
        process.kill()
    assert process.returncode == 130, stderr[-3000:]
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert [line for line in stderr.splitlines() if line.startswith("interrupted")] == [last]
    checkpoint = last_checkpoint(str(output_dir))
    assert checkpoint is not None and f"checkpoint saved in {checkpoint}" in last and "--resume_from_checkpoint latest" in last
    step = int(Path(checkpoint).name.split("-")[1])
    assert 1 <= step < 24, "the run was interrupted mid-training"
    assert not (output_dir / "model.safetensors").exists()  # no final model from a run that did not finish
    assert (Path(checkpoint) / "model.safetensors").exists() and not (Path(checkpoint) / "training_args.bin").exists()

    resumed = subprocess.run(training_command(tiny_model, output_dir, "--resume_from_checkpoint", "latest"),
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    # It went on from the checkpoint (a run from scratch would give the same model, so count the steps it logged).
    assert resumed.stdout.count("{'loss'") == 24 - step
    assert metrics(output_dir) == metrics(reference_run)
    assert same_weights(weights(output_dir), weights(reference_run))

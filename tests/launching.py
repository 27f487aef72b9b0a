"""Launching the scripts as several processes in tests: the probe that records what each rank trained on, the
commands started together (and their whole process groups killed if anything fails), and the checks on them.

What each rank trained on is observed from outside the scripts: a ``sitecustomize`` probe on ``PYTHONPATH``
registers a global forward hook that records, per process, the world size and every training input the token
classifier saw, written as ``rank-PID.json`` when the process exits. Under a launcher each worker also leaves
``pid-rank-R`` (its process id) and ``trained-rank-R`` after its first training batch, and can be slowed
(``NERKIT_PROBE_STEP_SECONDS`` a batch) or stopped inside its second checkpoint's save
(``NERKIT_PROBE_PAUSE_SAVE_RANK``: it leaves ``saving-rank-R`` and sleeps) or held in its first training batch
until the test leaves ``release`` (``NERKIT_PROBE_HOLD_FIRST_BATCH``), for tests that send signals.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "data" / "sample"

PROBE = '''
import atexit, json, os, time
_out = os.environ.get("NERKIT_TRAIN_PROBE")
if _out:
    import torch
    _seen = {"pid": os.getpid(), "rank": 0, "world_size": 1, "inputs": [], "batches": 0,
             "group_rank": os.environ.get("GROUP_RANK")}
    _rank = os.environ.get("RANK") if "LOCAL_RANK" in os.environ else None  # None in torchrun's own process
    _step_seconds = float(os.environ.get("NERKIT_PROBE_STEP_SECONDS", "0"))
    _pause_rank = os.environ.get("NERKIT_PROBE_PAUSE_SAVE_RANK")
    _hold = os.environ.get("NERKIT_PROBE_HOLD_FIRST_BATCH")

    def _mark(name):
        with open(os.path.join(_out, name), "w") as stream:
            stream.write(str(os.getpid()))

    if _rank is not None:
        _mark("pid-rank-" + _rank)

    _save, _rng_saves = torch.save, []

    def _paused_save(obj, f, *args, **kwargs):
        # The RNG states are saved by every process into each checkpoint: stop inside the second checkpoint.
        if isinstance(f, (str, os.PathLike)) and any(n in os.fspath(f) for n in ("rng_state", "random_states")):
            _rng_saves.append(f)
            if len(_rng_saves) == 2:
                _mark("saving-rank-" + _rank)
                time.sleep(600)
        return _save(obj, f, *args, **kwargs)

    if _pause_rank is not None and _pause_rank == _rank:
        torch.save = _paused_save

    def _record(module, args, kwargs, output):
        if not module.training or not type(module).__name__.endswith("ForTokenClassification"):
            return
        if _step_seconds:
            time.sleep(_step_seconds)
        if _rank is not None and not _seen["batches"]:
            _mark("trained-rank-" + _rank)
            if _hold:
                # Stay in the first training batch until the test has sent its signal (it writes "release"), so
                # that the signal lands during training however late a busy machine lets the test send it.
                _deadline = time.monotonic() + 300
                while not os.path.exists(os.path.join(_out, "release")) and time.monotonic() < _deadline:
                    time.sleep(0.05)
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


def probed_environment(probe_dir: Path) -> Dict[str, str]:
    """The environment that installs the probe; its records go to ``probe_dir / "records"``."""
    probe_dir.mkdir(parents=True)
    (probe_dir / "sitecustomize.py").write_text(PROBE)
    (probe_dir / "records").mkdir()
    return dict(os.environ, NERKIT_TRAIN_PROBE=str(probe_dir / "records"), PYTHONUNBUFFERED="1",
                PYTHONPATH=os.pathsep.join([str(probe_dir), str(REPO), os.environ.get("PYTHONPATH", "")]))


def wait_for_file(path: Path, processes: Sequence[subprocess.Popen], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"no {path.name} after {timeout} s"
        assert all(process.poll() is None for process in processes), f"a process ended before {path.name}"
        time.sleep(0.1)


def probe_records(probe_dir: Path) -> List[dict]:
    return [json.loads(path.read_text()) for path in sorted((probe_dir / "records").glob("rank-*.json"))]


def start(command: Sequence[str], env: Dict[str, str], log: Path) -> subprocess.Popen:
    """A command in its own session (so its workers can be killed with it), stdout and stderr into ``log``."""
    with open(log, "w") as stream:
        return subprocess.Popen([str(part) for part in command], cwd=REPO, env=env, stdout=stream,
                                stderr=subprocess.STDOUT, start_new_session=True)


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def run_together(commands: Sequence[Sequence[str]], env: Dict[str, str], logs: Sequence[Path],
                 timeout: float = 600) -> None:
    """Start every command at once and wait for all; any failure or the timeout kills every process group and
    fails with the end of the logs."""
    processes = [start(command, env, log) for command, log in zip(commands, logs)]
    deadline = time.monotonic() + timeout
    try:
        while any(process.poll() is None for process in processes):
            assert time.monotonic() < deadline, "timed out"
            assert all(process.returncode in (None, 0) for process in processes), "a process failed"
            time.sleep(0.2)
        assert all(process.returncode == 0 for process in processes), "a process failed"
    except AssertionError as failure:
        for process in processes:
            kill_group(process)
        tails = "\n".join(f"--- {log} (status {process.returncode})\n{log.read_text()[-3000:]}"
                          for process, log in zip(processes, logs))
        raise AssertionError(f"{failure}\n{tails}") from None
    finally:
        for process in processes:
            kill_group(process)  # what a launcher may have left behind


def torchrun(*options) -> List[str]:
    return [sys.executable, "-m", "torch.distributed.run", *map(str, options)]


def train_inputs(model_dir: Path, train_sentences: int, pack_length=None) -> Counter:
    """The training inputs both scripts build (nerkit's features), as a multiset of sub-word id tuples. The tiny
    BERT keeps packed sentences apart with position ids from 0 (tests/test_packing.py), so the default packs."""
    from transformers import AutoTokenizer

    from nerkit.arguments import DataTrainingArguments
    from nerkit.data import load_data
    from nerkit.features import prepare_features
    from nerkit.labels import labels_from_data
    from nerkit.layout import DEFAULT_PACK_LENGTH, InputLayout, resolve_window

    data_args = DataTrainingArguments(train_file=str(SAMPLE / "train.conll"), max_train_samples=train_sentences,
                                      pack_length=pack_length)
    raw = load_data(data_args, splits=("train",)).to_dataset_dict()
    labels = labels_from_data(raw["train"]["ner_tags"])
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    layout = InputLayout(*resolve_window(None, None, tokenizer),
                         DEFAULT_PACK_LENGTH if pack_length is None else pack_length, packed_position_offset=0)
    features = prepare_features(raw, tokenizer, {label: i for i, label in enumerate(labels)}, data_args, layout,
                                seed=42)  # both scripts' default seed
    return Counter(tuple(ids) for ids in features["train"]["input_ids"])


def check_shards(ranks: List[dict], expected: Counter, epochs: int = 1) -> None:
    """Two ranks of world size 2, each on its own half of every epoch, together on every input once an epoch."""
    assert len(ranks) == 2, f"{len(ranks)} processes trained"
    assert sorted(r["rank"] for r in ranks) == [0, 1]
    assert all(r["world_size"] == 2 for r in ranks)
    shards = [Counter(tuple(ids) for ids in r["inputs"]) for r in ranks]
    everything = Counter({ids: count * epochs for ids, count in expected.items()})
    # Every training input seen once an epoch in all (the epoch divides evenly, so nothing is repeated).
    assert shards[0] + shards[1] == everything
    assert sum(shards[0].values()) == sum(shards[1].values()) == sum(everything.values()) // 2
    if epochs == 1:
        # Identical inputs (the sample repeats a few sentences) are interchangeable, so disjointness is counted:
        # no input is seen on both ranks more often than it occurs in the data.
        for ids, count in (shards[0] & shards[1]).items():
            assert shards[0][ids] + shards[1][ids] <= expected[ids]


def metrics_without_timing(path: Path) -> dict:
    results = json.loads(path.read_text())
    return {key: value for key, value in results.items() if not key.endswith(("runtime", "_per_second", "_time"))}

"""What the benchmark scripts share: finding a corpus's splits, running one configuration as a process measured
from outside (wall time, peak RSS from ``wait4``), and the markdown table of figures against a reference row."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence, Tuple

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (label, key in a configuration's results, how to show it, higher is better?)
Figure = Tuple[str, str, str, bool]


def find_split_files(data_dir: str) -> Dict[str, str]:
    """train/validation/test files of a corpus folder, as run_ner.py would find them."""
    sys.path.insert(0, REPOSITORY)
    from nerkit.formats.splits import find_splits

    return {split: str(path) for split, path in find_splits(data_dir).items()}


class ResidentParts:
    """The peaks of a process's anonymous and file-backed resident memory (``RssAnon``, ``RssFile`` + ``RssShmem``
    of ``/proc/PID/status``), polled in a thread: wait4's peak RSS counts both, and file-backed pages (a
    memory-mapped Arrow file that was read) are ones the kernel can drop under pressure, unlike the anonymous
    ones. Polling can miss a short peak; Linux only (elsewhere the peaks stay None)."""

    def __init__(self, pid: int, every: float = 0.25):
        import threading

        self.path, self.every, self.peaks = f"/proc/{pid}/status", every, {"anon": None, "file": None}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        if os.path.exists(self.path):
            self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                with open(self.path, encoding="ascii") as stream:
                    fields = dict(line.split(":", 1) for line in stream if line.startswith("Rss"))
            except (OSError, ValueError):
                return
            kib = {name: int(value.split()[0]) for name, value in fields.items()}
            for part, value in (("anon", kib.get("RssAnon")), ("file", kib.get("RssFile", 0) + kib.get("RssShmem", 0))):
                if value is not None and (self.peaks[part] is None or value > self.peaks[part]):
                    self.peaks[part] = value
            self._stop.wait(self.every)

    def stop(self) -> Dict[str, float]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        return {f"peak_rss_{part}_gb": round(value * 1024 / 1e9, 3) for part, value in self.peaks.items()
                if value is not None}


def run(command: List[str], log_path: str, env: Dict[str, str], cwd: str = REPOSITORY) -> Dict[str, float]:
    """Run one process to the end; its wall time and peak RSS (KiB from wait4 on Linux; the process and the
    children it waited for), and the peaks of its own anonymous and file-backed parts (:class:`ResidentParts`)."""
    start = time.perf_counter()
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        parts = ResidentParts(process.pid)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    split = parts.stop()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{os.path.basename(sys.argv[0])}: {' '.join(command[:2])} ... exited with status {code}; "
                         f"see {log_path}")
    scale = 1 if sys.platform == "darwin" else 1024
    return {"wall_seconds": round(wall, 1), "peak_rss_gb": round(usage.ru_maxrss * scale / 1e9, 3), **split}


def markdown(results: Dict[str, Dict[str, float]], figures: Sequence[Figure], reference: Optional[str] = "upstream") -> str:
    """One row per figure, one column per configuration, then each one's ratio (F1: difference) to ``reference``
    when it ran; without it the figures alone.

    >>> print(markdown({"a": {"f1": 50.0, "s": 10}, "b": {"f1": 52.5, "s": 5}}, [("F1", "f1", "{:.1f}", True),
    ...       ("time", "s", "{:.0f}", False)], reference="a"), end="")
    | figure | a | b | b / a |
    | --- | --- | --- | --- |
    | F1 | 50.0 | 52.5 | +2.50 |
    | time | 10 | 5 | 0.50x |
    """
    names = list(results)
    compared = [name for name in names if name != reference] if reference in results else []
    lines = ["| figure | " + " | ".join(names + [f"{name} / {reference}" for name in compared]) + " |"]
    lines.append("| --- " * (1 + len(names) + len(compared)) + "|")
    for label, key, style, _ in figures:
        cells = [style.format(results[n][key]) if results[n].get(key) is not None else "" for n in names]
        for name in compared:
            base, value = results[reference].get(key), results[name].get(key)
            if "f1" in key:
                cells.append(f"{value - base:+.2f}" if value is not None and base is not None else "")
            else:
                cells.append(f"{value / base:.2f}x" if value and base else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(output_dir: str, stem: str, report: Dict[str, object], table: str) -> None:
    """``STEM.json`` (the figures and how they were made) and ``STEM.md`` (the table) in ``output_dir``; the
    table is printed too."""
    with open(os.path.join(output_dir, f"{stem}.json"), "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2)
    with open(os.path.join(output_dir, f"{stem}.md"), "w", encoding="utf-8") as stream:
        stream.write(table + "\n")
    print(table)

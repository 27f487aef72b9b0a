#!/usr/bin/env python
"""Benchmark how the memory of ``convert_iob.py`` and ``predict_ner.py`` grows with the size of their input.

A CoNLL file is repeated N times into a temporary file (never into the repository, see ``bench_memory.py``),
then each conversion runs on it as its own process, measured from outside (wall time, peak RSS from ``wait4``,
``measure.run``): CoNLL to IOB2 JSON lines with ``--stats`` (scheme detected, tags converted, statistics and
class weights), then those JSON lines to BIOES CSV. With ``--predict_model``, ``predict_ner.py`` also tags the
repeated CoNLL file (``--predict_repeats``: which N, since prediction is far slower than conversion). Results go
to ``OUTPUT_DIR/file_memory.json`` and ``OUTPUT_DIR/file_memory.md`` (the markdown is also printed).

    python benchmarks/bench_file_memory.py --input ../shared/data/conll2003/eng.train --repeats 1 10 100 \\
        --output_dir /tmp/bench-files
    python benchmarks/bench_file_memory.py --input ../shared/data/conll2003/eng.testb --repeats 1 10 \\
        --conversions none --predict_model /work/models/conll-minilm --output_dir /tmp/bench-predict
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
from bench_memory import repeat_file  # noqa: E402
from measure import REPOSITORY, run, write_report  # noqa: E402

CONVERT = os.path.join(REPOSITORY, "convert_iob.py")
PREDICT = os.path.join(REPOSITORY, "predict_ner.py")
# name: (input file, output file, more arguments); files are named in the work folder, "{n}" is N.
CONVERSIONS = {
    "conll-to-jsonl": ("train-x{n}.conll", "x{n}.jsonl", ["--scheme", "iob2", "--stats"]),
    "jsonl-to-csv": ("x{n}.jsonl", "x{n}.csv", ["--scheme", "bioes"]),
}
COLUMNS = [("step", "step", "{}"), ("N", "repeats", "{}"), ("words", "words", "{:,}"),
           ("wall, s", "wall_seconds", "{:.1f}"), ("peak RSS, GB", "peak_rss_gb", "{:.3f}")]


def markdown(rows: List[Dict[str, object]]) -> str:
    lines = ["| " + " | ".join(title for title, _, _ in COLUMNS) + " |", "|" + " --- |" * len(COLUMNS)]
    lines.extend("| " + " | ".join(form.format(row[key]) for _, key, form in COLUMNS) + " |" for row in rows)
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--input", required=True, help="a CoNLL file to repeat")
    parser.add_argument("--repeats", type=int, nargs="+", default=[1, 10], help="input sizes, as copies of the file")
    parser.add_argument("--conversions", default=",".join(CONVERSIONS), help=f"comma-separated, of {', '.join(CONVERSIONS)}; or none")
    parser.add_argument("--predict_model", help="a trained model folder: also time predict_ner.py on the repeated file")
    parser.add_argument("--predict_repeats", type=int, nargs="+", help="the N to predict (default: all of --repeats)")
    parser.add_argument("--work_dir", help="where the repeated files and outputs go (default: a temporary folder, removed at the end)")
    parser.add_argument("--output_dir", required=True)
    args = parser.parse_args(argv)
    conversions = [] if args.conversions == "none" else args.conversions.split(",")
    unknown = set(conversions) - set(CONVERSIONS)
    if unknown:
        raise SystemExit(f"bench_file_memory.py: unknown conversion(s) {', '.join(sorted(unknown))}")
    if os.path.exists(args.output_dir):
        raise SystemExit(f"bench_file_memory.py: {args.output_dir} already exists")
    os.makedirs(args.output_dir)
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-files-")
    os.makedirs(work, exist_ok=True)
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    rows, commands = [], {}

    def measure(step: str, times: int, words: int, command: List[str]) -> None:
        commands[step] = " ".join(command)
        figures = run(command, os.path.join(args.output_dir, f"{step}-x{times}.log"), env)
        rows.append(dict(step=step, repeats=times, words=words, **figures))
        print(json.dumps(rows[-1]), flush=True)

    try:
        for times in args.repeats:
            corpus = os.path.join(work, f"train-x{times}.conll")
            words = repeat_file(args.input, times, corpus)
            for name in conversions:
                source, target, more = CONVERSIONS[name]
                source, target = (os.path.join(work, f.format(n=times)) for f in (source, target))
                measure(name, times, words, [sys.executable, CONVERT, "--input", source, "--output", target, "--force", *more])
            if args.predict_model and times in (args.predict_repeats or args.repeats):
                target = os.path.join(work, f"predicted-x{times}.jsonl")
                measure("predict", times, words, [sys.executable, PREDICT, "--model", args.predict_model, "--input", corpus,
                                                  "--output", target, "--overwrite", "--quiet"])
            for name in os.listdir(work):
                if f"x{times}." in name:
                    os.remove(os.path.join(work, name))
    finally:
        if args.work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {"processor": platform.processor() or platform.machine(), "cpus": os.cpu_count(), "input": args.input,
              "commands": commands, "rows": rows}
    write_report(args.output_dir, "file_memory", report, markdown(rows))


if __name__ == "__main__":
    main()

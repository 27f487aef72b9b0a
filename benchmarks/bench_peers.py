#!/usr/bin/env python
"""Benchmark our run_ner.py against flair, SpanMarker and spaCy: the same encoder, the same CoNLL files, the same
epochs, batch size, learning rate and seed, in one run on one machine.

Rows:

- ``upstream`` and ``ours``: run_ner.py as ``bench_ner.py`` runs it (an upstream-like configuration, our
  defaults);
- ``flair``: FLERT-style fine-tuning (``TransformerWordEmbeddings(fine_tune=True)``, a linear ``SequenceTagger``,
  no RNN, no CRF, no document context); ``flair-crf``: the same with its CRF;
- ``spanmarker``: SpanMarker's span classifier over the encoder;
- ``spacy``: spaCy's NER over the encoder through spacy-transformers (spaCy's CNN NER where that cannot load it;
  the row says so);
- ``flair-recommended``, ``spanmarker-recommended`` and ``spacy-recommended`` (not run unless named in ``--peers``:
  hours on a CPU): the same tools with their own recommended epochs, batch size, learning rate and schedule instead
  of the shared ones (``Peer.settings``; spaCy's recipe trains until its dev F1 stops improving, and the runner
  says how many epochs that was); they predict in batches of ``--batch_size``, as every row does.

Each peer runs in its own virtual environment, built here from pinned PyPI versions (``torch`` pinned too, so
that pip takes the CPU wheel) under ``--venv_dir`` and reused while its pins are the same; nothing of theirs goes
into our requirements. Everything runs offline (``HF_HUB_OFFLINE=1``). The corpus is converted once with
``convert_iob.py`` to IOB2 CoNLL (``word tag``), which flair reads with ``ColumnCorpus`` and spaCy with its
CoNLL-NER converter, and to JSON lines for SpanMarker, which reads ``datasets`` only.

Measured per row, each row one process: training seconds; training sub-words per second (the training sentences'
sub-words, one sentence per input with its special tokens, times the epochs, over the training seconds: the same
count for every row, whatever a tool adds, such as span markers); dev and test prediction words per second; peak
RSS of the whole process from outside (``wait4``); dev and test F1 by our scorer (seqeval, entity level, the
default mode) from each tool's word-level predictions; and each tool's own F1 beside it. Results go to
``OUTPUT_DIR/bench.json`` and ``OUTPUT_DIR/bench.md``.

    python benchmarks/bench_peers.py --data_dir ../shared/data/wnut17 --output_dir bench/peers-wnut
    python benchmarks/bench_peers.py --data_dir data/sample --max_train_samples 200 --epochs 1 \\
        --peers none --output_dir /tmp/peers   # our rows only, on a slice (what CI runs)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

from bench_ner import add_run_options, machine, prepare, run_configuration, run_ner_commands
from measure import REPOSITORY, markdown, run

PEERS_DIR = os.path.join(REPOSITORY, "benchmarks", "peers")
CONVERT_IOB = os.path.join(REPOSITORY, "convert_iob.py")
TORCH = "torch==2.13.0"  # pinned in every environment: an unpinned torch pulls a CUDA build of several GB


@dataclass
class Peer:
    environment: str  # the virtual environment's folder name under --venv_dir
    pins: List[str]
    script: str
    options: List[str] = field(default_factory=list)
    needs_json: bool = False
    # The tool's own recommended epochs / batch_size / learning_rate, in place of the shared ones.
    settings: Dict[str, float] = field(default_factory=dict)


FLAIR_PINS = ["flair==0.15.1", TORCH]
# transformers, datasets and the hub pinned: without them pip backtracks for half an hour over hub 1.x.
SPANMARKER_PINS = ["span-marker==1.8.1", "transformers==4.57.6", "datasets==4.0.0", "huggingface_hub==0.36.2", TORCH]
SPACY_PINS = ["spacy==3.8.18", "spacy-transformers==1.4.0", TORCH]
PEERS: Dict[str, Peer] = {
    "flair": Peer("flair", FLAIR_PINS, "flair_peer.py"),
    "flair-crf": Peer("flair", FLAIR_PINS, "flair_peer.py", ["--crf"]),
    "spanmarker": Peer("spanmarker", SPANMARKER_PINS, "spanmarker_peer.py", needs_json=True),
    "spacy": Peer("spacy", SPACY_PINS, "spacy_peer.py"),
}
SHARED_SETTINGS_PEERS = list(PEERS)  # the default --peers
PEERS.update({
    # flair 0.15.1's fine_tune defaults (its 10% warm-up is in every flair row).
    "flair-recommended": Peer("flair", FLAIR_PINS, "flair_peer.py",
                              settings={"epochs": 10, "batch_size": 4, "learning_rate": 5e-5}),
    # The example of span-marker 1.8.1's README.
    "spanmarker-recommended": Peer("spanmarker", SPANMARKER_PINS, "spanmarker_peer.py",
                                   ["--warmup_ratio", "0.1", "--weight_decay", "0.01"], needs_json=True,
                                   settings={"epochs": 3, "batch_size": 32, "learning_rate": 5e-5}),
    # spaCy 3.8's `init config --optimize accuracy` training section as it comes; the runner reports the epochs and
    # batch size it trained with.
    "spacy-recommended": Peer("spacy", SPACY_PINS, "spacy_peer.py", ["--recommended"], settings={"learning_rate": 5e-5}),
})

FIGURES = [
    ("epochs", "epochs", "{:g}", False),
    ("batch size (training)", "batch_size", "{}", False),
    ("learning rate", "learning_rate", "{:g}", False),
    ("training, s", "train_seconds", "{:.0f}", False),
    ("training sub-words / s", "train_subwords_per_second", "{:.0f}", True),
    ("evaluation (dev) words / s", "eval_words_per_second", "{:.0f}", True),
    ("prediction (test) words / s", "predict_words_per_second", "{:.0f}", True),
    ("peak RSS, GB", "peak_rss_gb", "{:.2f}", False),
    ("whole run, s", "wall_seconds", "{:.0f}", False),
    ("dev F1, our scorer", "eval_f1", "{:.2f}", True),
    ("test F1, our scorer", "predict_f1", "{:.2f}", True),
    ("dev F1, the tool's own", "tool_eval_f1", "{:.2f}", True),
    ("test F1, the tool's own", "tool_predict_f1", "{:.2f}", True),
]


def names(value: str, known: Sequence[str], option: str) -> List[str]:
    """The comma-separated names of ``value`` ('none' for none), each checked against ``known``."""
    chosen = [name.strip() for name in value.split(",") if name.strip() and name.strip() != "none"]
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise SystemExit(f"bench_peers.py: unknown {option} {', '.join(unknown)}; choose from {', '.join(known)} or none")
    return chosen


def environment(peer: Peer, venv_dir: str) -> str:
    """The peer's virtual environment's python, built (or rebuilt, when its pins changed) with pip first."""
    folder = os.path.join(venv_dir, peer.environment)
    python = os.path.join(folder, "bin", "python")
    record = os.path.join(folder, "nerkit-pins.txt")
    wanted = "\n".join(sorted(peer.pins)) + "\n"
    if os.path.exists(record) and open(record, encoding="utf-8").read() == wanted:
        return python
    shutil.rmtree(folder, ignore_errors=True)
    print(f"[peers] building {folder}: pip install {' '.join(peer.pins)}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", folder], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", *peer.pins], check=True)
    with open(record, "w", encoding="utf-8") as stream:
        stream.write(wanted)
    return python


def convert_corpus(data_dir: str, target: str, max_train_samples: Optional[int], env: Dict[str, str]) -> Dict[str, str]:
    """IOB2 CoNLL (``target/conll``) and JSON lines (``target/json``) of the corpus, by convert_iob.py; the train
    file cut to its first ``max_train_samples`` sentences, as run_ner.py cuts it."""
    folders = {"conll": os.path.join(target, "conll"), "json": os.path.join(target, "json")}
    subprocess.run([sys.executable, CONVERT_IOB, "--input", data_dir, "--output", folders["conll"], "--scheme", "iob2",
                    "--output_format", "conll"], check=True, env=env)
    missing = {"train", "dev", "test"} - {name.split(".")[0] for name in os.listdir(folders["conll"])}
    if missing:
        raise SystemExit(f"bench_peers.py: the peers need train, dev and test files; {data_dir} has no {', '.join(sorted(missing))}")
    if max_train_samples:
        from nerkit.formats import read_sentences, write_sentences

        path = os.path.join(folders["conll"], "train.conll")
        write_sentences(read_sentences(path, "conll")[:max_train_samples], path, "conll")
    subprocess.run([sys.executable, CONVERT_IOB, "--input", folders["conll"], "--output", folders["json"],
                    "--output_format", "json"], check=True, env=env)
    return folders


def count_subwords(model: str, train_file: str) -> int:
    """Sub-words of the training sentences, one sentence per input with its special tokens (the count every row's
    training speed is given in)."""
    from transformers import AutoTokenizer

    from nerkit.formats import read_sentences

    tokenizer = AutoTokenizer.from_pretrained(model)
    sentences = [sentence.tokens for sentence in read_sentences(train_file)]
    return sum(len(ids) for ids in tokenizer(sentences, is_split_into_words=True)["input_ids"])


def score_predictions(gold_file: str, predictions_file: str) -> float:
    """Entity-level F1 (0-100) by our scorer of a tool's IOB2 predictions, one JSON line per sentence in the gold
    file's order; an error when the words are not the gold file's.

    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = open(f"{folder}/gold.conll", "w").write("-DOCSTART- O\\n\\nAda B-PER\\nsang O\\n\\nin O\\nRome B-LOC\\n")
    >>> rows = [{"words": ["Ada", "sang"], "tags": ["B-PER", "O"]}, {"words": ["in", "Rome"], "tags": ["O", "O"]}]
    >>> _ = open(f"{folder}/p.jsonl", "w").write("".join(json.dumps(row) + "\\n" for row in rows))
    >>> round(score_predictions(f"{folder}/gold.conll", f"{folder}/p.jsonl"), 2)
    66.67
    """
    from nerkit.formats import read_sentences
    from nerkit.metrics import score

    gold = read_sentences(gold_file, "conll")
    with open(predictions_file, encoding="utf-8") as stream:
        predicted = [json.loads(line) for line in stream if line.strip()]
    if len(predicted) != len(gold):
        raise SystemExit(f"bench_peers.py: {predictions_file} has {len(predicted)} sentences, {gold_file} {len(gold)}")
    for number, (sentence, row) in enumerate(zip(gold, predicted), start=1):
        if sentence.tokens != row["words"] or len(row["tags"]) != len(sentence.tokens):
            raise SystemExit(f"bench_peers.py: {predictions_file}: sentence {number} is not {gold_file}'s")
    return 100 * score([s.ner_tags for s in gold], [row["tags"] for row in predicted])["f1"]


def settings(peer: Optional[Peer], args: argparse.Namespace) -> Dict[str, float]:
    """The epochs, batch size and learning rate a row trains with: the shared ones, or the peer's own.

    >>> args = argparse.Namespace(epochs=2.0, batch_size=32, learning_rate=1e-4)
    >>> settings(PEERS["flair-recommended"], args)
    {'epochs': 10, 'batch_size': 4, 'learning_rate': 5e-05}
    >>> settings(PEERS["flair"], args)
    {'epochs': 2.0, 'batch_size': 32, 'learning_rate': 0.0001}
    """
    shared = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.learning_rate}
    return dict(shared, **(peer.settings if peer else {}))


def peer_command(peer: Peer, python: str, args: argparse.Namespace, model: str, folders: Dict[str, str],
                 output: str) -> List[str]:
    """The runner's command line: the row's training settings, the shared seed and prediction batch size."""
    row = settings(peer, args)
    command = [python, os.path.join(PEERS_DIR, peer.script), "--data_dir", folders["conll"], "--model", model,
               "--output_dir", output, "--epochs", str(int(row["epochs"])), "--batch_size", str(row["batch_size"]),
               "--eval_batch_size", str(args.batch_size), "--learning_rate", str(row["learning_rate"]),
               "--seed", str(args.seed), *peer.options]
    if peer.needs_json:
        command += ["--json_dir", folders["json"]]
    return command


def run_peer(name: str, peer: Peer, python: str, args: argparse.Namespace, model: str, folders: Dict[str, str],
             env: Dict[str, str]) -> Dict[str, float]:
    """One peer trained and evaluated in its own process; its figures, F1 by our scorer among them."""
    output = os.path.join(args.output_dir, name)
    command = peer_command(peer, python, args, model, folders, output)
    print(f"[peers] {name}: {' '.join(command)}", flush=True)
    measured = run(command, os.path.join(args.output_dir, f"{name}.log"), env)
    with open(os.path.join(output, "peer_results.json"), encoding="utf-8") as stream:
        results = dict(json.load(stream), **measured, command=" ".join(command))
    for split, key in (("dev", "eval"), ("test", "predict")):
        seconds = results.get(f"{key}_seconds")
        results[f"{key}_words_per_second"] = round(results[f"{key}_words"] / seconds, 1) if seconds else None
        results[f"{key}_f1"] = round(score_predictions(os.path.join(folders["conll"], f"{split}.conll"),
                                                       os.path.join(output, f"{split}.predictions.jsonl")), 2)
    return results


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_run_options(parser)
    parser.add_argument("--ours", default="upstream,ours", help="Which of upstream,ours to run ('none' for neither).")
    parser.add_argument("--peers", default=",".join(SHARED_SETTINGS_PEERS),
                        help=f"Which of {','.join(PEERS)} to run ('none' for none; default: %(default)s).")
    parser.add_argument("--venv_dir", default=os.path.join(os.path.expanduser("~"), ".cache", "nerkit-peers"),
                        help="Where the peers' virtual environments are built and kept (default: %(default)s).")
    args = parser.parse_args(argv)
    ours, peers = names(args.ours, ["upstream", "ours"], "row"), names(args.peers, list(PEERS), "peer")
    if not ours + peers:
        raise SystemExit("bench_peers.py: --ours none and --peers none leave nothing to run")
    if any(not PEERS[name].settings for name in peers) and args.epochs != int(args.epochs):
        raise SystemExit("bench_peers.py: the peers train whole epochs; give --epochs as a whole number")
    if args.max_eval_samples or args.max_predict_samples:
        raise SystemExit("bench_peers.py: every row predicts the whole dev and test files; drop --max_eval_samples "
                         "and --max_predict_samples")
    model, splits = prepare(args, "bench_peers.py")
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_DATASETS_OFFLINE="1")
    folders = convert_corpus(args.data_dir, os.path.join(args.output_dir, "data"), args.max_train_samples, env)
    subwords_an_epoch = count_subwords(model, os.path.join(folders["conll"], "train.conll"))

    results: Dict[str, Dict[str, float]] = {}
    commands: Dict[str, str] = {}
    common, configs, _ = run_ner_commands(args, model, splits)
    for name in ours + peers:
        if name in PEERS:
            python = environment(PEERS[name], args.venv_dir)
            results[name] = run_peer(name, PEERS[name], python, args, model, folders, env)
            commands[name] = str(results[name].pop("command"))
        else:
            results[name], commands[name] = run_configuration(name, common, configs, args.output_dir, env)
            # run_ner.py's own F1 is our scorer's.
            results[name].update(tool_eval_f1=results[name].get("eval_f1"), tool_predict_f1=results[name].get("predict_f1"))
        results[name] = dict(settings(PEERS.get(name), args), **results[name])  # what a runner reports wins
        if results[name].get("train_seconds"):
            subwords = results[name]["epochs"] * subwords_an_epoch
            results[name]["train_subwords_per_second"] = round(subwords / results[name]["train_seconds"], 1)
        # Written after every row, so that a long run stopped part way keeps the rows it finished.
        table = write_report(args, model, commands, results, {name: PEERS[name].pins for name in peers})
    print(table)


def write_report(args: argparse.Namespace, model: str, commands: Dict[str, str], results: Dict[str, Dict[str, float]],
                 pins: Dict[str, List[str]]) -> str:
    report = {"machine": machine(), "model": model, "data_dir": args.data_dir, "commands": commands, "pins": pins,
              "results": results}
    with open(os.path.join(args.output_dir, "bench.json"), "w", encoding="utf-8") as stream:
        json.dump(report, stream, indent=2, sort_keys=True)
    table = markdown(results, FIGURES, reference=None)
    if results.get("spacy", {}).get("transformer_problem"):
        table += f"\nspaCy ran its CNN NER: spacy-transformers could not load the encoder ({results['spacy']['transformer_problem']})\n"
    with open(os.path.join(args.output_dir, "bench.md"), "w", encoding="utf-8") as stream:
        stream.write(table)
    return table

if __name__ == "__main__":
    main()

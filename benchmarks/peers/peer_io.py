"""What every peer runner shares. Runners run inside a peer's own virtual environment, where nerkit and its
requirements are not installed: this module needs only the standard library and nerkit's ``schemes``
(standard library only), taken from the repository.

A runner is given the IOB2 CoNLL files that ``convert_iob.py`` wrote (``train.conll``, ``dev.conll``,
``test.conll``: ``word tag`` lines, ``-DOCSTART- O`` between documents), trains, predicts the dev and test files
and writes into ``--output_dir``:

- ``dev.predictions.jsonl`` / ``test.predictions.jsonl``: one ``{"words": [...], "tags": [...]}`` per sentence in
  file order, IOB2 tags, which the driver scores with our scorer;
- ``peer_results.json``: training seconds, dev and test prediction seconds and words, and the tool's own dev /
  test F1 (0-100).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from typing import Dict, Iterator, List, Sequence, Tuple

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
from nerkit.schemes import get_scheme  # noqa: E402  (the repository's; it needs only the standard library)

DOCUMENT_SEPARATOR = "-DOCSTART-"
IOB2 = get_scheme("iob2")  # IOB2.encode([(type, first word, end word exclusive), ...], length): the tags


def parse_args(description: str, extra=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data_dir", required=True, help="Folder with train.conll, dev.conll, test.conll (IOB2).")
    parser.add_argument("--model", required=True, help="The encoder's folder.")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch_size", type=int, default=32, help="Training batch size, in sentences.")
    parser.add_argument("--eval_batch_size", type=int, default=None,
                        help="Sentences a prediction batch (default: --batch_size); the driver gives every row the "
                             "same, so that a tool's small recommended training batch does not slow its predictions.")
    parser.add_argument("--learning_rate", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=42)
    if extra:
        extra(parser)
    args = parser.parse_args()
    args.eval_batch_size = args.eval_batch_size or args.batch_size
    os.makedirs(args.output_dir, exist_ok=True)
    return args


def split_path(args: argparse.Namespace, split: str) -> str:
    return os.path.join(args.data_dir, f"{split}.conll")


@contextmanager
def timed(results: Dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[key] = round(time.perf_counter() - start, 2)


def write_predictions(path: str, sentences: Sequence[Tuple[List[str], List[str]]]) -> None:
    with open(path, "w", encoding="utf-8") as stream:
        for words, tags in sentences:
            stream.write(json.dumps({"words": list(words), "tags": list(tags)}) + "\n")


def write_results(args: argparse.Namespace, results: Dict[str, object]) -> None:
    with open(os.path.join(args.output_dir, "peer_results.json"), "w", encoding="utf-8") as stream:
        json.dump(results, stream, indent=2, sort_keys=True)

#!/usr/bin/env python
"""Score one trained model through each way a user may run it, on the same test file, with the same scorer.

Paths (``--paths``, comma-separated, in the order given):

- ``run_ner``: ``run_ner.py --do_predict`` (F1 and words/s from its ``predict_results.json``);
- ``predict_ner``: ``predict_ner.py --format conll`` on the test file (words/s as it prints them, loading apart);
- ``pipeline``: ``transformers.pipeline("token-classification", aggregation_strategy="first",
  trust_remote_code=True)`` (the folder's ``CaseFeaturePipeline``) over each sentence's words joined by spaces
  (``--text detokenized``: no space before closing punctuation, as running text has it), its entities'
  character spans mapped back to words;
- ``auto``: ``AutoTokenizer`` (``trust_remote_code=True``) and ``AutoModelForTokenClassification`` on the words
  (``is_split_into_words=True``), the argmax of each word's first sub-word;
- ``pipeline-pretokens``: ``pipeline`` with the tokenizer's own pre-tokens as the words whose case counts;
- ``pipeline-plain``, ``auto-plain``: ``pipeline`` and ``auto`` without ``trust_remote_code`` on ``--plain_model``
  (a folder without the case feature's code: a model trained before it travelled, or what a user gets who loads
  the tokenizer some other way), i.e. what standard loading gave before.

Every path's tags are scored by ``nerkit.metrics.score`` (seqeval, entity level, default mode) against the test
file's tags. Prediction only: loading is not counted in words/s. Rows are printed as a markdown table and, with
``--output``, written as JSON.

    nice -n 10 python benchmarks/bench_deploy.py --model out/conll-hf \\
        --test_file ../shared/data/conll2003/eng.testb --paths run_ner,predict_ner,pipeline,auto
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Sequence, Tuple

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPOSITORY)

from nerkit.formats import read_sentences  # noqa: E402
from nerkit.metrics import score  # noqa: E402

NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", ")", "]", "}", "%", "'s", "n't", "'"}
NO_SPACE_AFTER = {"(", "[", "{", "$"}


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="A trained model folder (with the case feature's code when it uses it).")
    parser.add_argument("--plain_model", default=None, help="The same model without that code, for the *-plain paths.")
    parser.add_argument("--test_file", required=True, help="A CoNLL test file (word ... tag).")
    parser.add_argument("--paths", default="run_ner,predict_ner,pipeline,auto")
    parser.add_argument("--text", choices=("spaced", "detokenized"), default="spaced", help="Raw text for the pipeline paths.")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--output", default=None, help="Write the rows here as JSON.")
    return parser.parse_args(argv)


def make_text(words: Sequence[str], detokenized: bool) -> Tuple[str, List[Tuple[int, int]]]:
    """The sentence as text, and each word's character span in it.

    >>> make_text(["Paris", ",", "France", "."], detokenized=True)
    ('Paris, France.', [(0, 5), (5, 6), (7, 13), (13, 14)])
    """
    text, spans = "", []
    for index, word in enumerate(words):
        glued = detokenized and index and (word in NO_SPACE_BEFORE or words[index - 1] in NO_SPACE_AFTER)
        text += "" if not index or glued else " "
        spans.append((len(text), len(text) + len(word)))
        text += word
    return text, spans


def tags_from_entities(entities: Sequence[dict], spans: Sequence[Tuple[int, int]]) -> List[str]:
    """Word tags (IOB2) from a pipeline's entities: the words an entity's characters overlap.

    >>> tags_from_entities([{"entity_group": "PER", "start": 0, "end": 12}], [(0, 3), (4, 12), (13, 16)])
    ['B-PER', 'I-PER', 'O']
    """
    tags = ["O"] * len(spans)
    for entity in entities:
        inside = [i for i, (start, end) in enumerate(spans) if start < entity["end"] and entity["start"] < end
                  and tags[i] == "O"]
        for position, i in enumerate(inside):
            tags[i] = ("B-" if position == 0 else "I-") + entity["entity_group"]
    return tags


def run_pipeline(model: str, sentences, args, trust: bool, word_split: str = "whitespace") -> Tuple[List[List[str]], float]:
    from transformers import pipeline

    options = {"trust_remote_code": True} if trust else {}
    tagger = pipeline("token-classification", model=model, aggregation_strategy="first", device="cpu", **options)
    if word_split != "whitespace":
        tagger.tokenizer.word_split = word_split
    texts = [make_text(sentence.tokens, args.text == "detokenized") for sentence in sentences]
    started = time.perf_counter()
    outputs = tagger([text for text, _ in texts], batch_size=args.batch_size)
    seconds = time.perf_counter() - started
    return [tags_from_entities(entities, spans) for entities, (_, spans) in zip(outputs, texts)], seconds


def run_auto(model: str, sentences, args, trust: bool) -> Tuple[List[List[str]], float]:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    options = {"trust_remote_code": True} if trust else {}
    tokenizer = AutoTokenizer.from_pretrained(model, **options)
    network = AutoModelForTokenClassification.from_pretrained(model).eval()
    predicted = []
    started = time.perf_counter()
    for first in range(0, len(sentences), args.batch_size):
        words = [sentence.tokens for sentence in sentences[first:first + args.batch_size]]
        inputs = tokenizer(words, is_split_into_words=True, padding=True, truncation=True, return_tensors="pt")
        with torch.no_grad():
            best = network(**inputs).logits.argmax(-1).tolist()
        for row, sentence_words in enumerate(words):
            tags, seen = ["O"] * len(sentence_words), set()
            for position, word in enumerate(inputs.word_ids(row)):
                if word is not None and word not in seen:  # the first sub-word of each word
                    seen.add(word)
                    tags[word] = network.config.id2label[best[row][position]]
            predicted.append(tags)
    return predicted, time.perf_counter() - started


def run_script(command: List[str]) -> subprocess.CompletedProcess:
    completed = subprocess.run([sys.executable] + command, cwd=REPOSITORY, capture_output=True, text=True)
    if completed.returncode:
        raise SystemExit(f"{shlex.join(command)} failed:\n{completed.stderr[-3000:]}")
    return completed


def path_run_ner(args, sentences, folder: str) -> Dict:
    run_script(["run_ner.py", "--model_name_or_path", args.model, "--test_file", args.test_file, "--do_predict",
                "--output_dir", os.path.join(folder, "run_ner"), "--report_to", "none", "--disable_tqdm", "true"])
    with open(os.path.join(folder, "run_ner", "predict_results.json"), encoding="utf-8") as stream:
        results = json.load(stream)
    words = sum(len(sentence.tokens) for sentence in sentences)
    return {"f1": results["predict_f1"], "words_per_second": words / results["predict_runtime"]}


def path_predict_ner(args, sentences, folder: str) -> Dict:
    output = os.path.join(folder, "predict_ner.conll")
    completed = run_script(["predict_ner.py", "--model", args.model, "--input", args.test_file, "--output", output,
                            "--format", "conll"])
    speed = re.search(r"([\d,]+) words/s", completed.stderr)
    predicted = [sentence.ner_tags for sentence in read_sentences(output, "conll")]
    return {"tags": predicted, "words_per_second": float(speed.group(1).replace(",", "")) if speed else None}


def in_process(run: Callable, plain: bool = False, **options) -> Callable:
    def measure(args, sentences, folder):
        model = args.plain_model if plain else args.model
        if model is None:
            raise SystemExit("the *-plain paths need --plain_model")
        tags, seconds = run(model, sentences, args, trust=not plain, **options)
        return {"tags": tags, "words_per_second": sum(len(sentence.tokens) for sentence in sentences) / seconds}
    return measure


PATHS = {
    "run_ner": path_run_ner,
    "predict_ner": path_predict_ner,
    "pipeline": in_process(run_pipeline),
    "auto": in_process(run_auto),
    "pipeline-pretokens": in_process(run_pipeline, word_split="pretokens"),
    "pipeline-plain": in_process(run_pipeline, plain=True),
    "auto-plain": in_process(run_auto, plain=True),
}


def main(argv=None) -> None:
    args = parse_arguments(argv)
    names = [name for name in args.paths.split(",") if name]
    unknown = [name for name in names if name not in PATHS]
    if unknown:
        raise SystemExit(f"unknown paths {unknown}; known: {', '.join(PATHS)}")
    sentences = read_sentences(args.test_file, "conll")
    gold = [sentence.ner_tags for sentence in sentences]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            result = PATHS[name](args, sentences, folder)
            f1 = result["f1"] if "f1" in result else score(gold, result.pop("tags"))["f1"]
            command = shlex.join(["python", "benchmarks/bench_deploy.py", "--model", args.model]
                                 + (["--plain_model", args.plain_model] if name.endswith("-plain") else [])
                                 + ["--test_file", args.test_file, "--paths", name]
                                 + (["--text", args.text] if name.startswith("pipeline") else []))
            rows.append({"path": name, "f1": f1, "words_per_second": result["words_per_second"], "command": command})
            print(f"| {name} | {100 * f1:.2f} | {result['words_per_second'] or 0:,.0f} | `{command}` |", flush=True)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as stream:
            json.dump(rows, stream, indent=2)


if __name__ == "__main__":
    main()

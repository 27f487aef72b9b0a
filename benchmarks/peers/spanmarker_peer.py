"""SpanMarker: span classification over the same encoder. SpanMarker reads Hugging Face datasets, not CoNLL
files, so it is given the JSON lines ``convert_iob.py --output_format json`` wrote from the same files
(``tokens``, ``ner_tags`` in IOB2), read with ``datasets``. Runs in SpanMarker's virtual environment."""

from __future__ import annotations

import os
import tempfile

import span_marker.evaluation
from datasets import load_dataset
from peer_io import IOB2, parse_args, timed, write_predictions, write_results
from span_marker import SpanMarkerModel, Trainer
from transformers import TrainingArguments


class OfflineSeqeval:
    """What ``evaluate.load("seqeval")`` returns, computed with the seqeval library SpanMarker installs: that call
    fetches the metric's script from the hub, which an offline run cannot. The same computation as the hub
    script's (``classification_report`` in its default mode, micro average as ``overall_*``)."""

    def __init__(self):
        self.predictions, self.references = [], []

    def add(self, prediction, reference):
        self.predictions.append(prediction)
        self.references.append(reference)

    def compute(self):
        from seqeval.metrics import accuracy_score, classification_report

        report = classification_report(self.references, self.predictions, output_dict=True, zero_division=0)
        scores = {name: {"precision": row["precision"], "recall": row["recall"], "f1": row["f1-score"],
                         "number": row["support"]} for name, row in report.items() if not name.endswith(" avg")}
        micro = report["micro avg"]
        scores.update(overall_precision=micro["precision"], overall_recall=micro["recall"],
                      overall_f1=micro["f1-score"], overall_accuracy=accuracy_score(self.references, self.predictions))
        return scores


def extra_options(parser) -> None:
    parser.add_argument("--json_dir", required=True, help="train/dev/test.jsonl from convert_iob.py.")
    parser.add_argument("--entity_max_length", type=int, default=8, help="SpanMarker's default.")
    parser.add_argument("--model_max_length", type=int, default=256)


def main() -> None:
    args = parse_args(__doc__, extra_options)
    span_marker.evaluation.evaluate.load = lambda name, *a, **k: OfflineSeqeval()
    files = {split: os.path.join(args.json_dir, f"{split}.jsonl") for split in ("train", "dev", "test")}
    # Words and tags only: SpanMarker reads document_id / sentence_id columns as document context (integers), which
    # the other rows do not use.
    data = load_dataset("json", data_files=files).select_columns(["tokens", "ner_tags"])
    labels = ["O"] + sorted({tag for tags in data["train"]["ner_tags"] for tag in tags} - {"O"})
    index = {label: number for number, label in enumerate(labels)}
    data = data.map(lambda row: {"ner_tags": [index.get(tag, 0) for tag in row["ner_tags"]]})
    model = SpanMarkerModel.from_pretrained(args.model, labels=labels, model_max_length=args.model_max_length,
                                            entity_max_length=args.entity_max_length)
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        training = TrainingArguments(scratch, learning_rate=args.learning_rate, num_train_epochs=args.epochs,
                                     per_device_train_batch_size=args.batch_size,
                                     per_device_eval_batch_size=args.batch_size, seed=args.seed, save_strategy="no",
                                     eval_strategy="no", report_to="none", logging_steps=50, use_cpu=True)
        trainer = Trainer(model=model, args=training, train_dataset=data["train"])
        with timed(results, "train_seconds"):
            trainer.train()
        for split, key in (("dev", "eval"), ("test", "predict")):
            sentences = [list(words) for words in data[split]["tokens"]]  # a list of lists, as predict() wants
            with timed(results, f"{key}_seconds"):
                found = model.predict(sentences, batch_size=args.batch_size, show_progress_bar=False)
            results[f"{key}_words"] = sum(len(words) for words in sentences)
            write_predictions(f"{args.output_dir}/{split}.predictions.jsonl", [
                (words, IOB2.encode([(e["label"], e["word_start_index"], e["word_end_index"]) for e in entities],
                                    len(words)))
                for words, entities in zip(sentences, found)])
            scores = trainer.evaluate(data[split], metric_key_prefix=key)
            results[f"tool_{key}_f1"] = round(100 * scores[f"{key}_overall_f1"], 2)
    write_results(args, results)


if __name__ == "__main__":
    main()

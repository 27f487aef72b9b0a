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
from transformers import AutoTokenizer, TrainingArguments


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
    parser.add_argument("--model_max_length", default="fit",
                        help="Sub-words a sample's text may hold (SpanMarker's default 256); 'fit' (default): the "
                             "longest sentence of the split being trained on or predicted, so that no word is cut "
                             "and no sample is padded far beyond its text.")
    parser.add_argument("--marker_max_length", type=int, default=128, help="SpanMarker's default.")
    parser.add_argument("--warmup_ratio", type=float, default=0.0, help="The Trainer's (default: none).")
    parser.add_argument("--weight_decay", type=float, default=0.0, help="The Trainer's (default: none).")


def longest(tokenizer, sentences) -> int:
    """Sub-words of the longest sentence with its special tokens, rounded up to an even number: the
    ``model_max_length`` that cuts no word (SpanMarker's collator puts the markers at the next even position after
    the text, and overruns an odd length)."""
    length = max(len(ids) for ids in tokenizer(sentences, is_split_into_words=True)["input_ids"])
    return length + length % 2


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
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    lengths = {split: int(args.model_max_length) if args.model_max_length != "fit"
               else longest(tokenizer, [list(words) for words in data[split]["tokens"]]) for split in files}
    model = SpanMarkerModel.from_pretrained(args.model, labels=labels, model_max_length=lengths["train"],
                                            marker_max_length=args.marker_max_length,
                                            entity_max_length=args.entity_max_length)
    results = {"model_max_length": lengths, "marker_max_length": args.marker_max_length}
    with tempfile.TemporaryDirectory() as scratch:
        training = TrainingArguments(scratch, learning_rate=args.learning_rate, num_train_epochs=args.epochs,
                                     per_device_train_batch_size=args.batch_size,
                                     per_device_eval_batch_size=args.eval_batch_size, warmup_ratio=args.warmup_ratio,
                                     weight_decay=args.weight_decay, seed=args.seed, save_strategy="no",
                                     eval_strategy="no", report_to="none", logging_steps=50, use_cpu=True)
        trainer = Trainer(model=model, args=training, train_dataset=data["train"])
        with timed(results, "train_seconds"):
            trainer.train()
        trained = os.path.join(scratch, "trained")
        trainer.save_model(trained)
        for split, key in (("dev", "eval"), ("test", "predict")):
            sentences = [list(words) for words in data[split]["tokens"]]  # a list of lists, as predict() wants
            # Loaded again with the split's own length (SpanMarker's from_pretrained takes it), so that no test
            # sentence longer than every training one is cut; the loading is not timed.
            model = SpanMarkerModel.from_pretrained(trained, model_max_length=lengths[split])
            trainer = Trainer(model=model, args=training)
            with timed(results, f"{key}_seconds"):
                found = model.predict(sentences, batch_size=args.eval_batch_size, show_progress_bar=False)
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

"""flair, FLERT-style: TransformerWordEmbeddings fine-tuned with a linear SequenceTagger on top (no RNN, no
reprojection), ``--crf`` for its CRF. Reads the CoNLL files with flair's own ColumnCorpus, with
``comment_symbol=None``: by default it takes every line that starts with "# " for a comment, which drops each "#"
word of a corpus (18 sentences of WNUT-17 dev lost one). Runs in flair's virtual environment (see bench_peers.py)."""

from __future__ import annotations

import tempfile

import flair
from flair.data import Corpus
from flair.datasets import ColumnCorpus
from flair.embeddings import TransformerWordEmbeddings
from flair.models import SequenceTagger
from flair.trainers import ModelTrainer
from peer_io import DOCUMENT_SEPARATOR, IOB2, parse_args, timed, write_predictions, write_results


def predict(tagger: SequenceTagger, sentences, batch_size: int, results: dict, key: str, path: str) -> None:
    """Tag the sentences (timed), write each one's IOB2 tags, and add flair's own F1 of them."""
    sentences = [s for s in sentences if s.to_tokenized_string() != DOCUMENT_SEPARATOR]
    with timed(results, f"{key}_seconds"):
        tagger.predict(sentences, mini_batch_size=batch_size, label_name="predicted")
    results[f"{key}_words"] = sum(len(sentence) for sentence in sentences)
    rows = []
    for sentence in sentences:
        spans = [(span.get_label("predicted").value, span.tokens[0].idx - 1, span.tokens[-1].idx)
                 for span in sentence.get_spans("predicted")]
        rows.append(([token.text for token in sentence], IOB2.encode(spans, len(sentence))))
    write_predictions(path, rows)
    evaluation = tagger.evaluate(sentences, gold_label_type="ner", mini_batch_size=batch_size)
    results[f"tool_{key}_f1"] = round(100 * evaluation.main_score, 2)


def main() -> None:
    args = parse_args(__doc__, lambda parser: parser.add_argument("--crf", action="store_true"))
    flair.set_seed(args.seed)
    corpus = ColumnCorpus(args.data_dir, {0: "text", 1: "ner"}, train_file="train.conll", dev_file="dev.conll",
                          test_file="test.conll", document_separator_token=DOCUMENT_SEPARATOR,
                          sample_missing_splits=False, comment_symbol=None)
    labels = corpus.make_label_dictionary(label_type="ner", add_unk=False)
    embeddings = TransformerWordEmbeddings(args.model, layers="-1", subtoken_pooling="first", fine_tune=True,
                                           use_context=False)
    tagger = SequenceTagger(hidden_size=256, embeddings=embeddings, tag_dictionary=labels, tag_type="ner",
                            use_crf=args.crf, use_rnn=False, reproject_embeddings=False)
    # Training alone: no dev or test evaluation inside the timed part (the scores come after, timed apart).
    trainer = ModelTrainer(tagger, Corpus(train=corpus.train, dev=None, test=None, sample_missing_splits=False))
    results = {}
    with tempfile.TemporaryDirectory() as scratch, timed(results, "train_seconds"):
        trainer.fine_tune(scratch, learning_rate=args.learning_rate, mini_batch_size=args.batch_size,
                          max_epochs=args.epochs, save_final_model=False, create_file_logs=False,
                          create_loss_file=False)
    predict(tagger, corpus.dev, args.eval_batch_size, results, "eval", f"{args.output_dir}/dev.predictions.jsonl")
    predict(tagger, corpus.test, args.eval_batch_size, results, "predict", f"{args.output_dir}/test.predictions.jsonl")
    write_results(args, results)


if __name__ == "__main__":
    main()

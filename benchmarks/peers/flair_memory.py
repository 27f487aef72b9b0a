"""Where flair's memory goes, in stages: its resident memory (anonymous and file-backed, from /proc/self/status)
after the imports, after ColumnCorpus has read the corpus, after the model is built, after one training step on
a batch of median-length and one on the longest sentences (the worst padding an epoch meets), and then during
``fine_tune`` of one epoch on the first ``--max_train_samples`` sentences, as ``flair_peer.py`` trains (sampled
every second; the peak so far at each tenth of the run). Runs in flair's virtual environment:

    ~/.cache/nerkit-peers/flair/bin/python benchmarks/peers/flair_memory.py \\
        --data_dir bench/peers-conll/data/conll --model $MODEL --max_train_samples 4800
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time


def resident() -> dict:
    """GB resident now (``rss``, ``anon``, ``file``) and at the process's peak (``peak``)."""
    fields = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "VmHWM": "peak"}
    with open("/proc/self/status", encoding="ascii") as stream:
        values = {fields[key]: int(rest.split()[0]) / 2**20 for key, _, rest in
                  (line.partition(":") for line in stream) if key in fields}
    return values


def show(stage: str) -> None:
    now = resident()
    print(f"{stage}: RSS {now['rss']:.2f} GB (anonymous {now['anon']:.2f}, file-backed {now['file']:.2f}), "
          f"peak so far {now['peak']:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", required=True, help="train/dev/test.conll (IOB2) as bench_peers.py writes them.")
    parser.add_argument("--model", required=True)
    parser.add_argument("--max_train_samples", type=int, default=4800)
    parser.add_argument("--batch_size", type=int, default=32)
    args = parser.parse_args()

    import flair
    import torch
    from flair.data import Corpus
    from flair.datasets import ColumnCorpus
    from flair.embeddings import TransformerWordEmbeddings
    from flair.models import SequenceTagger
    from flair.trainers import ModelTrainer
    from torch.utils.data import Subset

    show("imports")
    corpus = ColumnCorpus(args.data_dir, {0: "text", 1: "ner"}, train_file="train.conll", dev_file="dev.conll",
                          test_file="test.conll", document_separator_token="-DOCSTART-", sample_missing_splits=False,
                          comment_symbol=None)
    show(f"corpus read ({len(corpus.train)} / {len(corpus.dev)} / {len(corpus.test)} sentences)")
    labels = corpus.make_label_dictionary(label_type="ner", add_unk=False)

    def tagger():
        embeddings = TransformerWordEmbeddings(args.model, layers="-1", subtoken_pooling="first", fine_tune=True,
                                               use_context=False)
        return SequenceTagger(hidden_size=256, embeddings=embeddings, tag_dictionary=labels, tag_type="ner",
                              use_crf=False, use_rnn=False, reproject_embeddings=False)

    flair.set_seed(42)
    probe = tagger()
    show("model built")
    optimizer = torch.optim.AdamW(probe.parameters(), lr=1e-4)
    by_length = sorted(corpus.train, key=len)
    middle = len(by_length) // 2
    for name, batch in (("median-length", by_length[middle : middle + args.batch_size]),
                        ("longest", by_length[-args.batch_size :])):
        probe.forward_loss(batch)[0].backward()
        optimizer.step()
        optimizer.zero_grad()
        for sentence in batch:
            sentence.clear_embeddings()
        show(f"one training step, {args.batch_size} {name} sentences (up to {len(batch[-1])} words)")
    del probe, optimizer

    samples, stop = [], threading.Event()

    def sample():
        started = time.time()
        while not stop.is_set():
            samples.append((time.time() - started, resident()))
            time.sleep(1)

    flair.set_seed(42)
    model = tagger()
    train = Subset(corpus.train, range(min(args.max_train_samples, len(corpus.train))))
    trainer = ModelTrainer(model, Corpus(train=train, dev=None, test=None, sample_missing_splits=False))
    show("before fine_tune (a new model)")
    threading.Thread(target=sample, daemon=True).start()
    with tempfile.TemporaryDirectory() as scratch:
        trainer.fine_tune(scratch, learning_rate=1e-4, mini_batch_size=args.batch_size, max_epochs=1,
                          save_final_model=False, create_file_logs=False, create_loss_file=False)
    stop.set()
    for tenth in range(1, 11):
        part = samples[: max(1, len(samples) * tenth // 10)]
        print(f"fine_tune, {10 * tenth}% ({part[-1][0]:.0f} s): peak RSS so far "
              f"{max(s['rss'] for _, s in part):.2f} GB, anonymous {max(s['anon'] for _, s in part):.2f}")


if __name__ == "__main__":
    main()

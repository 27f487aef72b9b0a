"""spaCy: an NER pipeline trained by spaCy's own training loop, over the same encoder through
spacy-transformers; where spacy-transformers cannot load it, spaCy's CNN NER (the reason is printed and
recorded). Reads the CoNLL files with spaCy's own CoNLL-NER converter (what ``spacy convert -c ner`` runs), one
sentence per Doc; ``-DOCSTART- O`` lines are left out first, since spaCy knows them only as
``-DOCSTART- -X- O O``. Runs in spaCy's virtual environment.

``--recommended``: spaCy's own recipe instead of the shared settings, the training section of ``init config
--optimize accuracy`` as it comes (batches of 2,000 padded words, warm-up over 250 steps to 5e-5, gradients of 3
sub-batches accumulated, the whole dev set scored every 200 steps, stopping when its F1 has not improved for 1,600
steps or after 20,000), and the best checkpoint (``model-best``) predicts; its training seconds include those dev
scorings and checkpoint saves, which the recipe needs to stop and to pick its model."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Dict, List

import spacy
from peer_io import DOCUMENT_SEPARATOR, parse_args, split_path, timed, write_predictions, write_results
from spacy.cli.init_config import init_config
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin
from spacy.training import Example
from spacy.training.converters import conll_ner_to_docs
from spacy.training.initialize import init_nlp
from spacy.training.loop import train


def read_docs(path: str) -> List[Doc]:
    with open(path, encoding="utf-8") as stream:
        lines = [line for line in stream if line.split()[:1] != [DOCUMENT_SEPARATOR]]
    text = "".join(lines).strip() + "\n"
    return list(conll_ner_to_docs(text, n_sents=1, no_print=True))


def transformer_problem(model: str) -> str:
    """Why spacy-transformers cannot run the encoder here, or '' when it can."""
    try:
        import spacy_transformers  # noqa: F401
        from spacy_transformers.layers import TransformerModel

        layer = TransformerModel(model, get_spans=spacy.registry.get("span_getters", "spacy-transformers.strided_spans.v1")(window=128, stride=96), tokenizer_config={"use_fast": True})
        layer.initialize()
    except Exception as error:  # any failure to load is the reason to report, whatever its type
        return f"{type(error).__name__}: {error}"[:500]
    return ""


def extra_options(parser) -> None:
    parser.add_argument("--recommended", action="store_true",
                        help="spaCy's own training settings (see above); --epochs, --batch_size and --learning_rate "
                             "are not used.")
    parser.add_argument("--max_steps", type=int, default=None,
                        help="With --recommended: stop after this many steps (default: the config's 20,000); for a "
                             "quick check of the recipe on a slice.")


PROGRESS: Dict[str, int] = {}  # the last step and epoch, and the step each epoch began at


@spacy.registry.callbacks("nerkit.record_progress.v1")
def record_progress():
    """spaCy calls it before every update (``before_update``): how far the recipe trained, which it does not
    return."""
    def record(nlp, info: Dict[str, int]) -> None:
        if info["epoch"] != PROGRESS.get("epoch"):
            PROGRESS[f"epoch_{info['epoch']}_start"] = info["step"]
        PROGRESS.update(info)
    return record


def epochs_trained() -> float:
    """Passes over the training data, the last one counted in the first epoch's steps (so 1.0 when the recipe
    stopped inside its first pass, which its 1,600 steps of patience do not on these corpora)."""
    epoch, step = PROGRESS["epoch"], PROGRESS["step"] + 1
    started = PROGRESS[f"epoch_{epoch}_start"]
    first_epoch_steps = PROGRESS.get("epoch_1_start", step)
    return round(epoch + (step - started) / first_epoch_steps, 2)


def configure(args, train_path: str, dev_path: str, sentences: int, transformer: bool):
    config = init_config(lang="en", pipeline=["ner"], optimize="accuracy", gpu=transformer, silent=True)
    config["paths"]["train"], config["paths"]["dev"] = train_path, dev_path
    training = config["training"]
    if transformer:
        config["components"]["transformer"]["model"]["name"] = args.model
    if args.recommended:
        training.update(seed=args.seed, before_update={"@callbacks": "nerkit.record_progress.v1"})
        if args.max_steps:
            training["max_steps"] = args.max_steps
        return config
    steps = math.ceil(sentences / args.batch_size) * args.epochs
    training.update(max_epochs=args.epochs, max_steps=0, seed=args.seed, eval_frequency=steps + 1)
    training["batcher"] = {"@batchers": "spacy.batch_by_sequence.v1", "size": args.batch_size, "get_length": None}
    if transformer:
        training["optimizer"]["learn_rate"] = {"@schedules": "warmup_linear.v1", "warmup_steps": 0,
                                               "total_steps": steps, "initial_rate": args.learning_rate}
    return config


def main() -> None:
    args = parse_args(__doc__, extra_options)
    problem = transformer_problem(args.model)
    if problem:
        print(f"spacy-transformers cannot run {args.model}: {problem}; spaCy's CNN NER instead", flush=True)
    results = {"spacy_pipeline": "cnn" if problem else "transformer", "transformer_problem": problem}
    with tempfile.TemporaryDirectory() as scratch:
        train_docs = read_docs(split_path(args, "train"))
        DocBin(docs=train_docs).to_disk(os.path.join(scratch, "train.spacy"))
        # The loop scores its dev set at step 0 and every eval_frequency steps: with the shared settings a few
        # sentences keep that out of the training time (the dev and test scores come after, timed apart); the
        # recipe stops on the whole dev set's F1.
        dev_docs = read_docs(split_path(args, "dev"))
        DocBin(docs=dev_docs if args.recommended else dev_docs[:10]).to_disk(os.path.join(scratch, "dev.spacy"))
        config = configure(args, os.path.join(scratch, "train.spacy"), os.path.join(scratch, "dev.spacy"),
                           len(train_docs), transformer=not problem)
        nlp = init_nlp(config)
        checkpoints = Path(scratch, "pipeline") if args.recommended else None
        if checkpoints:
            checkpoints.mkdir()  # as `spacy train` does: its loop writes model-last and model-best inside, not the folder
        with timed(results, "train_seconds"):
            train(nlp, checkpoints)
        if args.recommended:
            nlp = spacy.load(checkpoints / "model-best")
            results.update(epochs=epochs_trained(), steps=PROGRESS["step"] + 1,
                           batch_size=f"{config['training']['batcher']['size']} padded words",
                           learning_rate=config["training"]["optimizer"]["learn_rate"]["initial_rate"])
    for split, key in (("dev", "eval"), ("test", "predict")):
        gold = read_docs(split_path(args, split))
        inputs = [Doc(nlp.vocab, words=[token.text for token in doc]) for doc in gold]
        with timed(results, f"{key}_seconds"):
            predicted = list(nlp.pipe(inputs, batch_size=args.eval_batch_size))
        results[f"{key}_words"] = sum(len(doc) for doc in predicted)
        write_predictions(f"{args.output_dir}/{split}.predictions.jsonl", [
            ([token.text for token in doc], ["O" if token.ent_iob_ in ("O", "") else f"{token.ent_iob_}-{token.ent_type_}"
                                             for token in doc]) for doc in predicted])
        scores = get_ner_prf([Example(prediction, reference) for prediction, reference in zip(predicted, gold)])
        results[f"tool_{key}_f1"] = round(100 * (scores["ents_f"] or 0.0), 2)
    write_results(args, results)


if __name__ == "__main__":
    main()

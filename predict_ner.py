#!/usr/bin/env python
"""Tag raw text (or words) with a trained NER model: entities with character offsets, word tags, CoNLL or inline.

    python predict_ner.py --model output/sample --input news.txt --output entities.jsonl
    echo "Ada Lovelace met Charles Babbage in London." | python predict_ner.py --model output/sample \\
        --input - --output - --format inline

Input (``--input FILE``, a folder, or ``-`` for stdin; ``--input_format`` overrides the guess):

- plain text, one document per line (blank lines give empty documents, so output and input lines stay
  aligned), or the whole input as one document with ``--document``;
- JSON lines with a ``"text"`` field (an ``"id"`` field is copied to the output);
- any word-level format of the data layer (CoNLL, text+labels, JSON/CSV tokens, offsets JSON, BRAT); their
  gold tags are kept next to the predictions. A CoNLL file with a single column is words only.

Raw text is cut into words and sentences by the same tokeniser and sentence splitter as the data layer
(``nerkit.words``), so predictions see the word boundaries training saw. Sentences longer than the model's
maximum are windowed with overlap and merged back (no word is lost), exactly as ``run_ner.py`` does.

Output (``--format``): ``jsonl`` (default) has one object per document::

    {"text": "...", "entities": [{"start": 0, "end": 12, "label": "PER", "text": "Ada Lovelace", "score": 0.97}],
     "tokens": [...], "tags": [...], "offsets": [[0, 3], ...]}

``start``/``end`` are character offsets (Python string indices: Unicode code points, end exclusive) into
``text``, which is the input decoded, without a BOM and with ``\\n`` line ends, so ``text[start:end]`` is the
entity's text. ``score`` is the mean, over the entity's words, of the probability of each word's predicted
tag. ``--gold FILE`` takes the gold tags from another file (any word-level format) whose words are the
input's, in order (a word that differs is an error naming its line in that file). ``conll`` writes ``word tag`` lines (``word gold tag`` for word-level input with tags); ``inline`` writes
the text with ``[TAG]`` after each word not tagged ``O`` (NeMo style), spacing kept; ``html`` writes one
self-contained page with the entities highlighted on the text (a colour per type, the score on hover);
``labelstudio``, ``doccano`` and ``prodigy`` write pre-annotations those tools import (``nerkit.inference.writing``): Label
Studio tasks with the entities as ``predictions`` (``model_version``, a ``score`` per region and per task),
doccano lines, Prodigy lines (no ``answer`` yet, the document's score in ``meta``). ``--label_config FILE``
(the project's labelling config) checks that every label of the model is one of the project's ``<Labels>``
before anything is written, and names regions and the text field as the config does. ``--sort uncertainty``
writes the least certain documents first: a document's score is the lowest probability of any word's
predicted tag (``least_confidence``).

Tags are in the model's scheme (IOB2 for models trained here), or in the input's scheme for word-level
input with tags (as ``run_ner.py`` writes predictions), or in ``--scheme``; either way they are the valid
sequence of the predicted entities. A model of plain labels (POS tags, trained with ``--tagging_scheme none``)
writes its labels as they are, reads the input's tags as plain labels, and lists each labelled word as an
"entity" of one word. ``--backend onnx`` / ``onnx-int8`` runs a folder written by ``export_onnx.py`` with ONNX
Runtime (the rest is the same). An existing ``--output`` is never replaced without ``--overwrite``; the
file is written atomically (an error leaves no partial file). User errors print one line and exit with 2.

Under ``torchrun --nproc_per_node N`` the processes share the input's chunks of whole documents and the first
one writes the one output, in input order, byte-identical to a single process's
(:mod:`nerkit.inference.processes`).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from pathlib import Path

from nerkit.arguments import ModelArguments
from nerkit.errors import NerDataError, SetupError, exit_on_user_error
from nerkit.files import atomic_write
from nerkit.formats import FormatOptions
from nerkit.formats.labelling_config import read_labelling_config
from nerkit.inference import (
    DTYPES,
    INPUT_FORMATS,
    OUTPUT_FORMATS,
    NerTagger,
    PredictionWriter,
    quiet_transformers,
    read_documents,
)
from nerkit.inference.onnx_backend import BACKENDS
from nerkit.inference.processes import device_for, gather_in_order, join_processes, leave_processes
from nerkit.inference.reading import attach_gold
from nerkit.inference.streaming import stream_documents
from nerkit.inference.writing import least_confidence
from nerkit.modeling import has_plain_labels
from nerkit.reports.errors import sentence_errors, write_errors
from nerkit.schemes import PLAIN, entity_types, original_type

logger = logging.getLogger("predict_ner")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Predict named entities in raw text or word-level files with a trained token classifier.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--model", required=True, help="Trained model folder (a training run's output_dir) or hub id.")
    parser.add_argument("--input", required=True, help="Input file or folder, or - for stdin.")
    parser.add_argument("--output", required=True, help="Output file, or - for stdout.")
    parser.add_argument("--format", choices=OUTPUT_FORMATS, default="jsonl",
                        help="Output format; labelstudio, doccano, prodigy: pre-annotations those tools import.")
    parser.add_argument("--sort", choices=("input", "uncertainty"), default="input",
                        help="Order of the documents written: as read, or the least certain first (the lowest "
                             "probability of any word's predicted tag), to correct those first.")
    parser.add_argument("--model_version", help="labelstudio: the predictions' model_version (default: the model folder's name).")
    parser.add_argument("--label_config", default=None,
                        help="labelstudio: the project's labelling config (its XML, as in the project's settings): every "
                             "label of the model must be one of its <Labels>, else nothing is written; regions and the "
                             "text field are named as it names them.")
    parser.add_argument("--input_format", choices=INPUT_FORMATS, default="auto",
                        help="text: one document per line; jsonl: objects with a 'text' field; or a word-level "
                             "data format. auto: guessed from the name and content.")
    parser.add_argument("--document", action="store_true",
                        help="Plain text input: the whole input is one document instead of one per line.")
    parser.add_argument("--encoding", default="utf-8", help="Encoding of the input.")
    parser.add_argument("--batch_size", type=int, default=32, help="Inputs per forward pass.")
    parser.add_argument("--max_seq_length", type=int, default=None,
                        help="Longest input in sub-words (special tokens included); longer sentences are windowed. "
                             "Default: the model's limit, at most 512.")
    parser.add_argument("--stride", type=int, default=None,
                        help="Overlap in sub-words between windows (default: a quarter of the window, at most 32).")
    parser.add_argument("--context_size", type=int, default=None,
                        help="Sub-words of neighbouring sentences of the same document added on each side. Default: "
                             "the value the model was trained with (recorded in its config.json), else 0.")
    parser.add_argument("--pack_length", type=int, default=None,
                        help="Several sentences share one input of up to this many sub-words. Default: the value the "
                             "model was trained with (recorded in its config.json), else 128.")
    parser.add_argument("--pack_attention", choices=("sentence", "input"), default=None,
                        help="sentence: packed sentences are kept apart by the attention mask; input: consecutive "
                             "sentences of a document read each other. Default: as the model was trained, else sentence.")
    parser.add_argument("--constrained_decoding", action="store_true", default=True,
                        help="Viterbi over the scheme's valid tag transitions (the default).")
    parser.add_argument("--no_constrained_decoding", dest="constrained_decoding", action="store_false",
                        help="Argmax per word instead of constrained decoding.")
    parser.add_argument("--scheme", choices=("iob1", "iob2", "bioes"), default=None,
                        help="Write tags in this scheme (default: the model's; for word-level input with tags, "
                             "the input's).")
    parser.add_argument("--backend", choices=BACKENDS, default="torch",
                        help="torch: the model with PyTorch; onnx, onnx-int8: a folder written by export_onnx.py, "
                             "fp32 or int8, with ONNX Runtime on the CPU (same reading, windows, packing and decoding).")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (--backend torch).")
    parser.add_argument("--dtype", choices=DTYPES, default="auto",
                        help="Autocast dtype. auto: bfloat16 (or float16) on a GPU; on a CPU bfloat16 where it has bf16 "
                             "instructions (avx512_bf16, AMX), else float32.")
    parser.add_argument("--overwrite", action="store_true", help="Replace --output if it exists.")
    parser.add_argument("--gold", default=None,
                        help="Gold tags from this file (any word-level format) instead of the input's: its words must "
                             "be the input's, in order; for --errors, and the gold column of --format conll.")
    parser.add_argument("--errors", default=None,
                        help="Input with gold tags: also write every disagreement between gold and predicted entities "
                             "to this file (JSON lines, as the training scripts' errors.jsonl).")
    parser.add_argument("--print_entities", action="store_true",
                        help="Also print each document's entities to the terminal (not with --output -).")
    parser.add_argument("--quiet", action="store_true", help="No progress bar and no summary.")
    parser.add_argument("--trust_remote_code", action="store_true", help="Allow model code from the hub.")
    return parser


def check_output(output: str, overwrite: bool) -> None:
    if output == "-":
        return
    path = Path(output)
    if path.is_dir():
        raise SetupError("--output is a folder; give a file name", path=output)
    if path.exists() and not overwrite:
        raise SetupError("--output exists; pass --overwrite to replace it", path=output)


@contextlib.contextmanager
def open_output(output: str):
    """stdout for ``-``, else the file, written atomically (an error leaves no partial file)."""
    if output == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        with atomic_write(output) as stream:
            yield stream


def prediction_errors(prediction, plain: bool = False) -> list:
    """The error records of one document with gold tags, with character offsets into its text (``plain``: the
    model's labels are plain labels, the errors words)."""
    document, records = prediction.document, []
    for index, sentence in enumerate(document.sentences):
        records += sentence_errors([word for word, _, _ in sentence], document.gold[index], prediction.tags[index],
                                   document.id, index, prediction.confidence[index],
                                   [(start, end) for _, start, end in sentence], plain=plain)
    return records


def describe(prediction) -> str:
    """A document's text and its entities, for the terminal."""
    text = prediction.document.text.replace("\n", " ")
    lines = [text if len(text) <= 120 else text[:117] + "..."]
    for entity in prediction.entities:
        lines.append(f"    {entity['label']:<8} {entity['score']:.2f}  [{entity['start']}:{entity['end']}]  {entity['text']}")
    if not prediction.entities:
        lines.append("    (no entities)")
    return "\n".join(lines)


@exit_on_user_error
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(format="%(levelname)s - %(name)s - %(message)s", stream=sys.stderr,
                        level=logging.WARNING if args.quiet else logging.INFO)
    if args.print_entities and args.output == "-":
        raise SetupError("--print_entities prints to stdout; give --output a file name")
    check_output(args.output, args.overwrite)
    if args.errors is not None:
        check_output(args.errors, args.overwrite)
    if args.label_config is not None and args.format != "labelstudio":
        raise SetupError("--label_config is a Label Studio project's labelling config: it needs --format labelstudio")
    labelling_config = None if args.label_config is None else read_labelling_config(args.label_config)

    processes = join_processes()  # under torchrun: this process's share of the chunks (nerkit/inference/processes.py)
    if processes.world_size > 1 and args.input == "-":
        raise SetupError("--input -: several processes cannot share stdin; give a file")
    started = time.perf_counter()
    # A model of plain labels (POS tags...) reads the input's tags as plain labels too.
    plain = has_plain_labels(ModelArguments(model_name_or_path=args.model, trust_remote_code=args.trust_remote_code))
    # One process writing documents in input order to a file reads them as they come (memory does not grow with
    # the input, nerkit/inference/streaming.py; the file appears only whole, so bad input still writes nothing);
    # stdout, gold tags from another file, errors, sorting and several processes read all first.
    streamed = None
    if (processes.world_size == 1 and args.output != "-" and args.gold is None and args.errors is None
            and args.sort == "input" and not args.document):
        streamed = stream_documents(args.input, args.input_format, args.encoding, plain_labels=plain)
    loaded = streamed or read_documents(args.input, args.input_format, args.document, args.encoding, plain_labels=plain)
    if args.gold is not None:
        attach_gold(loaded, args.gold, "<stdin>" if args.input == "-" else args.input,
                    FormatOptions(encoding=args.encoding, plain_labels=plain))
    if args.errors is not None and any(document.gold is None for document in loaded.documents):
        raise NerDataError("--errors compares with gold tags, and the input has none", path=args.input)
    with quiet_transformers(args.quiet):
        device = device_for(args.device, processes) if args.backend == "torch" else args.device
        tagger = NerTagger.load(args.model, device=device, dtype=args.dtype, backend=args.backend,
                                trust_remote_code=args.trust_remote_code, batch_size=args.batch_size,
                                max_seq_length=args.max_seq_length, stride=args.stride,
                                context_size=args.context_size, pack_length=args.pack_length,
                                pack_attention=args.pack_attention,
                                constrained=args.constrained_decoding)
    loaded_at = time.perf_counter()
    if labelling_config is not None:  # before anything is written: Label Studio would take the file anyway
        labelling_config.check_types(original_type(label) for label in entity_types(tagger.labels))
    scheme = args.scheme or loaded.gold_scheme  # None: the model's scheme
    counts = "read as they come" if streamed else (f"{len(loaded.documents)} documents, {loaded.sentence_count} sentences, "
                                                   f"{loaded.word_count} words")
    logger.info(f"input {loaded.format}, {counts}; model labels {', '.join(tagger.labels)} on {tagger.device}"
                + (f" ({str(tagger.dtype).replace('torch.', '')} autocast)" if tagger.dtype is not None else ""))

    if processes.world_size == 1:
        predictions = tagger.predict(loaded.documents, output_scheme=scheme, progress=not args.quiet)
    else:
        own = list(tagger.predict_chunks(loaded.documents, output_scheme=scheme, progress=not args.quiet and processes.first,
                                         share=(processes.rank, processes.world_size)))
        logger.info(f"process {processes.rank} of {processes.world_size}: chunks {[index for index, _ in own]}, "
                    f"{sum(len(p.document.sentences) for _, chunk in own for p in chunk)} sentences")
        predictions = gather_in_order(own, processes)
        if not processes.first:  # the first process writes everything
            leave_processes(processes)
            return 0
    if args.sort == "uncertainty":
        predictions = sorted(predictions, key=least_confidence)
    entity_count, document_count, word_count, shown, errors = 0, 0, 0, [], []
    with open_output(args.output) as stream:
        writer = PredictionWriter(stream, args.format, model_version=args.model_version or Path(args.model).name,
                                  labelling_config=labelling_config)
        for prediction in predictions:
            writer.write(prediction)
            if args.errors is not None:
                errors += prediction_errors(prediction, plain=tagger.scheme is PLAIN)
            entity_count += len(prediction.entities)
            document_count += 1
            word_count += prediction.document.word_count
            if args.print_entities:
                shown.append(describe(prediction))
        writer.close()
    if args.errors is not None:
        write_errors(args.errors, errors)
    if shown:
        print("\n".join(shown))
    if not args.quiet:
        seconds = time.perf_counter() - loaded_at
        units = "labelled words" if tagger.scheme is PLAIN else "entities"
        print(f"{entity_count} {units} in {document_count} documents ({word_count} words) in "
              f"{seconds:.1f} s, {word_count / max(seconds, 1e-9):,.0f} words/s "
              f"(reading and loading {loaded_at - started:.1f} s)"
              + ("" if args.output == "-" else f" -> {args.output}")
              + (f" ({processes.world_size} processes)" if processes.world_size > 1 else ""), file=sys.stderr)
    leave_processes(processes)
    return 0


if __name__ == "__main__":
    main()

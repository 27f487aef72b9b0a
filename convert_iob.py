#!/usr/bin/env python
"""Convert NER data between file formats and tagging schemes, repair invalid tag sequences, count things.

Formats: conll, text_labels, json, csv, offsets, brat, labelstudio, doccano, prodigy (see ``nerkit.formats``). Schemes: IOB1, IOB2, BIOES.

Examples::

    # CoNLL-2003 (IOB1) to IOB2 JSON lines, with statistics and class weights
    python convert_iob.py --input eng.train --output train.jsonl --scheme iob2 --stats

    # a whole dataset folder (train/dev/test files or BRAT sub-folders) to NeMo text_labels files
    python convert_iob.py --input conll2003/ --output nemo/ --output_format text_labels

    # BIOES CoNLL with the word in column 0 and the tag in column 3
    python convert_iob.py --input in.txt --output out.conll --scheme bioes --tag_column 3

Behaviour:

- Input format: ``--input_format``, else guessed from the path (``nerkit.formats.guess_format``). Output
  format: ``--output_format``, else from the extension (``nerkit.formats.SUFFIX_FORMATS``): ``.conll .txt
  .iob .bio .bioes .iobes`` -> conll, ``.spacy.jsonl`` -> offsets, ``.labelstudio.json`` / ``.doccano.jsonl`` /
  ``.prodigy.jsonl`` -> those tools' formats, ``.jsonl .json .ndjson`` -> json, ``.csv
  .tsv`` -> csv; a name without one of these (or an existing folder) needs ``--output_format``. BRAT output
  is a folder.
- Folder mode: when ``--input`` is a folder of train / validation / test splits
  (``nerkit.formats.splits.find_splits``), every split is converted into the ``--output`` folder as
  ``train``, ``dev`` and ``test`` (``dev.conll``, ``test.jsonl``, ``text_train.txt`` + ``labels_train.txt``,
  a ``dev/`` BRAT folder, ...); the output format defaults to each split's input format, and text_labels
  output always gets NeMo's ``label_ids.csv``. A folder that is itself one corpus (BRAT files, one
  ``text.txt`` + ``labels.txt`` pair) is converted as a single input.
- Schemes: tags are read in ``--input_scheme`` (``auto``: detected over all the input, see
  ``nerkit.schemes.detect_scheme``), invalid sequences are repaired (counted; ``--strict`` makes the first
  one an error) and written in ``--scheme`` (default: the input's scheme). ``--input_scheme none`` reads plain
  labels without spans (POS tags: any label without white space), which are written as they are.
- ``--stats`` prints a statistics table per split and writes statistics with class weights
  (``nerkit.stats.corpus_stats``) and NeMo-style ``label_ids.csv`` (one label per line, ``O`` first): in
  folder mode as ``stats.json`` and ``label_ids.csv`` inside the output folder, otherwise beside the output
  as ``OUTPUT.stats.json`` and ``OUTPUT.label_ids.csv``. ``--tokenizer`` adds sub-word lengths (and implies
  ``--stats``); it is the only option that imports ``transformers``.
- Overwriting: the run refuses to start when any file it would write exists (for BRAT output: when the
  output folder exists and is not empty), unless ``--force``; with ``--force`` those files are replaced and
  nothing else is deleted (other files in a BRAT output folder stay). A file is never written over a folder.
- Memory: conll, text_labels, JSON lines and csv are read and written a sentence at a time, so memory does not
  grow with the corpus; scheme detection is a first pass over the input that only counts, ``--stats`` keeps
  counters and histograms (``nerkit.stats.CorpusCounts``). A JSON array (or ``{"data": [...]}``), Label
  Studio exports, BRAT folders and offsets, doccano and Prodigy files are read whole, and output in those
  formats is built in memory.
- Failures: a problem with the input or the arguments prints one line ``error: FILE:LINE: problem`` on
  stderr and exits with status 2. Every output is written to a temporary folder first and moved into place
  only when all of it succeeded, so a failed run creates no file and no folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shutil
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from nerkit.corpus import Sentence
from nerkit.errors import NerDataError, SetupError, exit_on_user_error
from nerkit.files import atomic_write
from nerkit.formats import (
    EMPTY_INPUT,
    FORMATS,
    FormatOptions,
    ReadReport,
    guess_format,
    iter_sentences,
    suffix_format,
    write_sentences,
)
from nerkit.formats.splits import find_splits
from nerkit.formats.text_labels import write_label_ids
from nerkit.labels import ValidationReport, repaired_sentences
from nerkit.schemes import PLAIN, TaggingScheme, convert, corpus_labels, detect_scheme, get_scheme
from nerkit.stats import CorpusCounts, format_stats

# File (or folder) name of each split in folder mode, per output format: the NeMo / HF example names.
SPLIT_STEMS = {"train": "train", "validation": "dev", "test": "test"}
SPLIT_FILES = {
    "conll": "{}.conll",
    "json": "{}.jsonl",
    "csv": "{}.csv",
    "offsets": "{}.spacy.jsonl",
    "brat": "{}",
    "text_labels": "text_{}.txt",
    "labelstudio": "{}.labelstudio.json",
    "doccano": "{}.doccano.jsonl",
    "prodigy": "{}.prodigy.jsonl",
}
MAX_NOTES_SHOWN = 5


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Convert NER data between formats (conll, text_labels, json, csv, offsets, brat, labelstudio, doccano, prodigy) and tagging schemes (IOB1, IOB2, BIOES).",
        epilog="Memory does not grow with the input for conll, text_labels, JSON lines and csv, read and written a sentence at a "
        "time (with --input_scheme auto the input is read twice: a first pass detects the scheme); a JSON array, labelstudio, "
        "brat, offsets, doccano and prodigy files are held in memory whole. "
        "Exit status 2 and one 'error: FILE:LINE: problem' line on stderr for any problem with the input or the arguments.",
    )
    parser.add_argument("--input", required=True, help="input file, or folder (BRAT folder, or train/dev/test splits)")
    parser.add_argument("--output", required=True, help="output file, or folder (folder mode, BRAT output)")
    parser.add_argument("--input_format", choices=FORMATS, help="default: guessed from the input path")
    parser.add_argument("--output_format", choices=FORMATS, help="default: guessed from the output's extension")
    parser.add_argument("--scheme", choices=("iob2", "iob1", "bioes", "none"), help="tagging scheme to write (default: the input's)")
    parser.add_argument("--input_scheme", choices=("auto", "iob1", "iob2", "bioes", "none"), default="auto",
                        help="scheme to read the tags in (default: detected); none: plain labels without spans (POS tags...), "
                        "any label, written as they are")
    parser.add_argument("--encoding", default="utf-8", help="encoding of the input files (output is always UTF-8)")
    parser.add_argument("--strict", action="store_true", help="fail on the first invalid tag sequence instead of repairing it")
    parser.add_argument("--stats", action="store_true", help="print statistics and write stats.json and label_ids.csv")
    parser.add_argument("--tokenizer", help="Hugging Face tokenizer (name or path) for sub-word statistics; implies --stats")
    parser.add_argument("--token_column", type=int, default=0, help="conll: column of the word (default 0)")
    parser.add_argument("--tag_column", type=int, default=-1, help="conll: column of the tag (default -1, the last)")
    parser.add_argument("--label_list", help="comma-separated label names for integer tags in json/csv input (id order)")
    parser.add_argument("--annotation", default="latest",
                        help="labelstudio: which annotation of a task: latest (not cancelled), first, an annotation id, or predictions")
    parser.add_argument("--offset_unit", choices=("auto", "codepoints", "utf16"), default="auto",
                        help="labelstudio, doccano: what offsets count (auto: code points unless the region texts (Label "
                        "Studio) or the words (doccano) say UTF-16 code units); utf16 also when writing")
    parser.add_argument("--text_column_name", help="json/csv: the field of the words; labelstudio: the data field of the text (default: found from the content)")
    parser.add_argument("--force", action="store_true", help="overwrite existing output files")
    args = parser.parse_args(argv)
    if args.tokenizer:
        args.stats = True
    return args


def guess_output_format(path: Path) -> str:
    """The format to write ``path`` in, from its extension.

    >>> guess_output_format(Path("out/train.spacy.jsonl")), guess_output_format(Path("x.iob")), guess_output_format(Path("a.CSV"))
    ('offsets', 'conll', 'csv')
    """
    format_name = None if path.is_dir() else suffix_format(path.name, writing=True)
    if format_name is not None:
        return format_name
    what = "is an existing folder" if path.is_dir() else "has no extension that names a format"
    raise NerDataError(f"the output {what}: give --output_format (one of {', '.join(FORMATS)}; brat writes a folder)", path=str(path))


def find_input_splits(folder: Path, input_format: Optional[str]) -> Optional[Dict[str, Path]]:
    """The split files of a dataset folder, or None when the folder is itself one corpus (BRAT files or one
    text_labels pair at its top level)."""
    if input_format in (None, "brat") and any(folder.glob("*.ann")):
        return None
    try:
        return find_splits(folder)
    except NerDataError as split_error:
        # Not a split folder: maybe a single corpus (a text.txt + labels.txt pair); else the split error,
        # which says what names were expected.
        try:
            guess_format(folder)
        except NerDataError:
            raise split_error from None
        return None


class Staging:
    """Write outputs under a hidden temporary folder, then move them into place all at once.

    ``path(final)`` gives where to write a file that should end up at ``final`` (under ``root``); ``commit()``
    moves every staged file to its place, creating folders as needed. Leaving the ``with`` block without
    committing (an error) removes the staging folder, so a failed run leaves nothing behind. With
    ``whole_folder`` (folder output), a ``root`` that does not exist or is empty is replaced by the staging folder
    in one rename, so the output folder appears with all its files or not at all, even if the run is killed;
    files forced into a non-empty folder are moved one by one, each whole.
    """

    def __init__(self, root: Path, whole_folder: bool = False):
        self.root = root.absolute()
        self.whole_folder = whole_folder
        anchor = self.root.parent if whole_folder else self.root
        while not anchor.exists():  # the nearest existing folder: same file system, so os.replace works
            anchor = anchor.parent
        self.anchor = anchor
        self.folder: Optional[Path] = None

    def __enter__(self) -> "Staging":
        # os.mkdir, not mkdtemp: the folder may become the output folder, with the permissions the umask gives.
        self.folder = self.anchor / f".convert_iob-{secrets.token_hex(6)}"
        self.folder.mkdir()
        return self

    def __exit__(self, *exc_info) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)

    def path(self, final: Path) -> Path:
        return self.folder / final.absolute().relative_to(self.root)

    def unstage(self, error: NerDataError) -> NerDataError:
        """The same error, naming the final path instead of the staged one."""
        if error.path and self.folder is not None and error.path.startswith(str(self.folder)):
            error = NerDataError(error.message, path=str(self.root) + error.path[len(str(self.folder)) :], line=error.line, where=error.where)
        return error

    def commit(self) -> List[Path]:
        staged = sorted(path.relative_to(self.folder) for path in self.folder.rglob("*") if path.is_file())
        if self.whole_folder and (not self.root.exists() or (self.root.is_dir() and not any(self.root.iterdir()))):
            self.root.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder, self.root)  # rename(2) replaces an empty folder
            self.folder = None
            return [self.root / path for path in staged]
        for path in staged:
            final = self.root / path
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder / path, final)
        return [self.root / path for path in staged]


def refuse_existing(targets: List[Tuple[Path, bool]], force: bool) -> None:
    """One-line error for the first ``(path, is_folder)`` output that exists (a folder only when it is not
    empty), unless ``force``; a file that would have to replace a folder is refused even with ``force``."""
    for target, is_folder in targets:
        if target.is_dir() and not is_folder:
            raise SetupError("exists and is a folder, but a file is to be written here", path=str(target))
        if target.exists() and is_folder and not target.is_dir():
            raise SetupError("exists and is a file, but a folder is to be written here", path=str(target))
        exists = any(target.iterdir()) if target.is_dir() else target.exists()
        if exists and not force:
            kind = "folder is not empty" if target.is_dir() else "file exists"
            raise SetupError(f"output {kind}; use --force to overwrite", path=str(target))


def read_split(path: Path, input_format: str, args: argparse.Namespace, report: ReadReport) -> Iterator[Sentence]:
    """The sentences of one input file or folder, as its reader yields them."""
    label_list = [label.strip() for label in args.label_list.split(",")] if args.label_list else None
    options = FormatOptions(
        encoding=args.encoding,
        token_column=args.token_column,
        tag_column=args.tag_column,
        label_list=label_list,
        plain_labels=args.input_scheme == "none",
        tokens_field=args.text_column_name,
        annotation=args.annotation,
        offset_unit=args.offset_unit,
        report=report,
    )
    return iter_sentences(path, input_format, options)


def converted_sentences(sentences: Iterable[Sentence], input_scheme: TaggingScheme, output_scheme: TaggingScheme,
                        counts: CorpusCounts, path: Path) -> Iterator[Sentence]:
    """Each sentence with its tags in ``output_scheme``, counted in ``counts`` on its way to the writer; the
    one-line error for an input without a sentence."""
    for sentence in sentences:
        if output_scheme is not input_scheme:
            sentence = dataclasses.replace(sentence, ner_tags=convert(sentence.ner_tags, input_scheme, output_scheme))
        counts.add(sentence)
        yield sentence
    if not counts.sentences:
        raise NerDataError(EMPTY_INPUT, path=str(path))


def summary_line(name: str, stats: dict, repairs: int, schemes: str) -> str:
    """``train: 14,041 sentences, 203,621 tokens, 946 documents; LOC 7,140, ...; IOB1 -> IOB2, 2 repairs``."""
    entities = ", ".join(f"{entity_type} {count:,}" for entity_type, count in stats["entities"].items()) or "no entities"
    units = "labels" if stats.get("scheme") == PLAIN.name else "entities"
    return (
        f"{name}: {stats['sentences']:,} sentences, {stats['tokens']:,} tokens, {stats['documents']:,} documents; "
        f"{units} {entities}; {schemes}, {repairs:,} repair{'' if repairs == 1 else 's'}"
    )


def load_tokenizer(name: str):
    """A Hugging Face tokenizer, imported only here so that runs without ``--tokenizer`` stay fast."""
    from transformers import AutoTokenizer  # slow import, on purpose only here

    try:
        return AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as error:
        # transformers' messages run over several lines; the error line must stay one line.
        message = " ".join(str(error).split()) or type(error).__name__
        if len(message) > 300:
            message = message[:297] + "..."
        raise SetupError(f"cannot load tokenizer: {message}", path=name) from None


@exit_on_user_error
def main(argv: Optional[List[str]] = None) -> None:
    args = parse_args(argv)
    input_path, output_path = Path(args.input), Path(args.output)
    if not input_path.exists():
        raise NerDataError("input not found", path=str(input_path))

    # 1. What to read: one corpus, or the splits of a dataset folder.
    splits = find_input_splits(input_path, args.input_format) if input_path.is_dir() else None
    folder_mode = splits is not None
    inputs: Dict[str, Path] = splits if folder_mode else {"all": input_path}

    # 2. Where to write, and refuse to overwrite before any work is done.
    if folder_mode:
        if output_path.exists() and not output_path.is_dir():
            raise NerDataError("input is a folder of splits, so the output must be a folder, not a file", path=str(output_path))
        output_formats = {split: args.output_format or args.input_format or guess_format(path) for split, path in inputs.items()}
        targets = {split: output_path / SPLIT_FILES[output_formats[split]].format(SPLIT_STEMS[split]) for split in inputs}
        side_files = {"stats": output_path / "stats.json", "label_ids": output_path / "label_ids.csv"}
    else:
        output_format = args.output_format or guess_output_format(output_path)
        output_formats = {"all": output_format}
        targets = {"all": output_path}
        side_files = {"stats": Path(f"{output_path}.stats.json"), "label_ids": Path(f"{output_path}.label_ids.csv")}
    written = [(target, output_formats[split] == "brat") for split, target in targets.items()]
    for split, target in targets.items():
        if output_formats[split] == "text_labels" and target.name.startswith("text"):
            written.append((target.with_name("labels" + target.name[len("text") :]), False))
    needs_label_ids = args.stats or (folder_mode and "text_labels" in output_formats.values())
    if args.stats:
        written.append((side_files["stats"], False))
    if needs_label_ids:
        written.append((side_files["label_ids"], False))
    refuse_existing(written, args.force)

    # 3. Schemes: one input scheme for all splits (the train split alone might hold too little evidence), detected
    # in a first pass that only counts; the second pass below converts and writes, a sentence at a time.
    input_formats = {split: args.input_format or guess_format(path) for split, path in inputs.items()}
    if args.input_scheme == "auto":
        input_scheme = detect_scheme(sentence.ner_tags for split, path in inputs.items()
                                     for sentence in read_split(path, input_formats[split], args, ReadReport()))
    else:
        input_scheme = get_scheme(args.input_scheme)
    output_scheme = get_scheme(args.scheme) if args.scheme else input_scheme
    if PLAIN in (input_scheme, output_scheme) and input_scheme is not output_scheme:
        raise NerDataError(f"plain labels have no spans: they cannot be converted to or from {args.scheme or input_scheme} "
                           "tags (give --input_scheme none without --scheme, or --scheme none)")
    schemes = f"{input_scheme.name}" + (" (detected)" if args.input_scheme == "auto" else "") + f" -> {output_scheme.name}"
    tokenizer = load_tokenizer(args.tokenizer) if args.tokenizer else None

    # 4. Read, repair, convert, count and write each split as a stream: every output staged, then moved into
    # place together (nothing appears unless all of it was read, checked and written).
    report = ReadReport()
    validations = {split: ValidationReport(scheme=input_scheme.name, detected=False) for split in inputs}
    counts = {split: CorpusCounts(tokenizer) for split in inputs}
    write_options = FormatOptions(report=report, plain_labels=output_scheme is PLAIN, offset_unit=args.offset_unit)
    root = output_path if folder_mode else output_path.parent
    with Staging(root, whole_folder=folder_mode) as staging:
        try:
            for split, path in inputs.items():
                sentences = read_split(path, input_formats[split], args, report)
                fixed = repaired_sentences(sentences, input_scheme, validations[split], strict=args.strict, path=path)
                converted = converted_sentences(fixed, input_scheme, output_scheme, counts[split], path)
                write_sentences(converted, staging.path(targets[split]), output_formats[split], write_options)
            label_list = corpus_labels(sum((c.labels for c in counts.values()), Counter()), output_scheme)
            if needs_label_ids:
                write_label_ids(label_list, staging.path(side_files["label_ids"]), plain=output_scheme is PLAIN)
        except NerDataError as error:
            raise staging.unstage(error) from None
        # Statistics on what is written, so in the output scheme.
        stats = {split: split_counts.stats(output_scheme, label_list) for split, split_counts in counts.items()}
        repairs = {split: validation.to_dict() for split, validation in validations.items()}
        if args.stats:
            conversion = {
                "input": str(input_path),
                "output": str(output_path),
                "input_formats": input_formats,
                "output_formats": output_formats,
                "input_scheme": input_scheme.name,
                "input_scheme_detected": args.input_scheme == "auto",
                "output_scheme": output_scheme.name,
                "repairs": repairs,
                "report_counts": dict(report.counts),
                "notes": report.notes,
                "label_ids_file": side_files["label_ids"].name,
            }
            if folder_mode:
                # Class weights for training come from the train split when there is one.
                weights_from = "train" if "train" in stats else next(iter(stats))
                document = {
                    "conversion": conversion,
                    "label_list": label_list,
                    "class_weights": stats[weights_from]["class_weights"],
                    "class_weights_from": weights_from,
                    "splits": stats,
                }
            else:
                document = {**stats["all"], "conversion": conversion}
            with atomic_write(staging.path(side_files["stats"])) as stream:
                json.dump(document, stream, indent=2, ensure_ascii=False)
                stream.write("\n")
        moved = staging.commit()

    # 7. Tell the user what happened.
    for split, split_stats in stats.items():
        name = SPLIT_STEMS.get(split, str(input_path))
        if args.stats:
            print(format_stats(split_stats, title=f"== {name} ({inputs[split]})" if folder_mode else f"== {name}"))
        print(summary_line(name, split_stats, repairs[split]["repairs"], schemes))
        for example in repairs[split]["examples"][:3]:
            print(f"  repaired {example}")
    if report.counts or report.notes:
        counts = ", ".join(f"{kind} {count:,}" for kind, count in sorted(report.counts.items()))
        print(f"report: {counts}; {len(report.notes)} note{'' if len(report.notes) == 1 else 's'}" + (":" if report.notes else ""))
        for note in report.notes[:MAX_NOTES_SHOWN]:
            print(f"  {note}")
        if len(report.notes) > MAX_NOTES_SHOWN:
            print(f"  ... {len(report.notes) - MAX_NOTES_SHOWN} more" + (" in the stats file" if args.stats else ""))
    print(f"wrote {', '.join(str(path) for path in moved)}" if len(moved) <= 8 else f"wrote {len(moved)} files under {root}")


if __name__ == "__main__":
    main()

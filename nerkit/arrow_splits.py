"""A split read from files into an on-disk Arrow dataset, streamed: memory does not grow with the corpus.

:func:`arrow_split` runs a format's reader (``nerkit.formats.iter_sentences``) inside
``datasets.Dataset.from_generator``, which writes the sentences to an Arrow file in the ``datasets`` cache
(``--cache_dir``) a thousand at a time and memory-maps it. The cache is found again by a fingerprint of the
file (path, size, modification time), the reading options and the row limit, so a second run reads nothing.
The same pass collects what the whole corpus must say before training starts (:class:`TagSummary`: the votes
for the tagging scheme, the distinct tags, the reader's notes), saved beside the cache since a cached split is
not read again. :func:`to_iob2` then converts the tags in batches (``datasets.map``, cached too).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set

from .corpus import Sentence
from .errors import NerDataError
from .files import atomic_write
from .formats import EMPTY_INPUT, FormatOptions, ReadReport, iter_sentences
from .labels import TagChecker, name_violation, validate_tags
from .schemes import IOB2, PLAIN, SchemeVotes, TaggingScheme, convert

logger = logging.getLogger(__name__)

SPLIT_VERSION = 1  # bump when the rows written for a sentence change


@dataclasses.dataclass
class TagSummary:
    """What one streaming pass over a split learned: scheme votes, distinct tags, sentences, reader notes."""

    votes: Dict[str, int]
    tags: List[str]
    sentences: int
    notes: List[str]
    counts: Dict[str, int]

    @classmethod
    def of_dataset(cls, dataset, plain: bool = False, column: str = "gold_tags") -> "TagSummary":
        """The summary of a split already in Arrow (a hub dataset), read in batches."""
        votes, tags = SchemeVotes(), set()
        for row in iter_column(dataset, column):
            if not plain:  # plain labels have no scheme to vote for
                votes.add(row)
            tags.update(row)
        return cls(votes.counts, sorted(tags), len(dataset), [], {})


@contextlib.contextmanager
def quiet_progress():
    """No ``datasets`` progress bars while data is read and checked: a bad file must give one line on stderr,
    the error, not a half-drawn bar above it."""
    import datasets

    was_on = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_on:
            datasets.enable_progress_bars()


def split_features():
    """The columns of a raw split: words, tags as given, document, sentence index and first line."""
    import datasets

    words = datasets.Sequence(datasets.Value("string"))
    return datasets.Features({"tokens": words, "gold_tags": words, "document_id": datasets.Value("string"),
                              "sentence_index": datasets.Value("int32"), "line": datasets.Value("int32")})


def record(sentence: Sentence) -> dict:
    return {"tokens": sentence.tokens, "gold_tags": sentence.ner_tags, "document_id": sentence.document_id or "",
            "sentence_index": sentence.sentence_index, "line": sentence.line}


def _read_records(path: str, format: Optional[str], options: dict, limit: Optional[int], summary_path: str,
                  stamp: tuple, version: int) -> Iterator[dict]:
    """The generator ``datasets`` runs (``stamp`` and ``version`` are there for its fingerprint only)."""
    report = ReadReport()
    votes, tags, count = SchemeVotes(), set(), 0
    for sentence in iter_sentences(path, format, FormatOptions(**options, report=report)):
        if limit is not None and count >= limit:
            break
        if not options["plain_labels"]:  # plain labels have no scheme to vote for
            votes.add(sentence.ner_tags)
        tags.update(sentence.ner_tags)
        count += 1
        yield record(sentence)
    if not count:
        raise NerDataError(EMPTY_INPUT, path=str(path))
    summary = TagSummary(votes.counts, sorted(tags), count, report.notes[:100], dict(report.counts))
    with atomic_write(summary_path) as stream:
        json.dump(dataclasses.asdict(summary), stream)


def arrow_split(path, format: Optional[str], options: FormatOptions, limit: Optional[int] = None,
                cache_dir: Optional[str] = None):
    """``(dataset, summary)``: the sentences of ``path`` in an on-disk Arrow dataset and their :class:`TagSummary`."""
    import datasets
    from datasets.fingerprint import Hasher

    path = Path(path)
    stat = os.stat(path) if path.exists() else None
    stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino) if stat else None
    if path.is_dir():  # BRAT and text/labels folders: any file of them changing changes the split
        stamp = tuple(sorted((entry.name, entry.stat().st_size, entry.stat().st_mtime_ns) for entry in path.iterdir()
                             if entry.is_file()))
    fields = {field.name: getattr(options, field.name) for field in dataclasses.fields(options) if field.name != "report"}
    fields["label_list"] = list(fields["label_list"]) if fields["label_list"] is not None else None
    key = Hasher.hash([str(path.resolve()), format, fields, limit, stamp, SPLIT_VERSION])
    folder = os.path.join(cache_dir or datasets.config.HF_DATASETS_CACHE, "nerkit")
    os.makedirs(folder, exist_ok=True)
    summary_path = os.path.join(folder, f"split-{key}.json")
    generator_arguments = dict(path=str(path), format=format, options=fields, limit=limit, summary_path=summary_path,
                               stamp=stamp, version=SPLIT_VERSION)
    logger.info(f"Reading {path} into an Arrow split (cached in {cache_dir or datasets.config.HF_DATASETS_CACHE})")
    try:
        with quiet_progress():
            dataset = datasets.Dataset.from_generator(_read_records, features=split_features(), cache_dir=cache_dir,
                                                      gen_kwargs=generator_arguments)
            if not os.path.exists(summary_path):  # the Arrow cache outlived the summary: read the split once more
                dataset = datasets.Dataset.from_generator(_read_records, features=split_features(), cache_dir=cache_dir,
                                                          gen_kwargs=generator_arguments, download_mode="force_redownload")
    except datasets.exceptions.DatasetGenerationError as error:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, NerDataError):
            raise cause from None
        raise
    with open(summary_path, encoding="utf-8") as stream:
        summary = TagSummary(**json.load(stream))
    report = options.report
    report.notes.extend(summary.notes)
    report.counts.update(summary.counts)
    return dataset, summary


# --- hub and saved datasets --------------------------------------------------------------------------------


@dataclasses.dataclass
class DatasetColumns:
    """Where a hub or saved dataset keeps its words and tags; the tag names in id order when tags are ids."""

    words: str
    tags: str
    names: Optional[List[str]] = None
    documents: bool = False  # a ``document_id`` column


class DatasetRecords:
    """The ``datasets.map`` function of :func:`arrow_split_of_dataset`: a batch of a hub dataset's rows as raw-split
    records, each checked (one :class:`NerDataError` naming the row), empty sentences dropped, sentences numbered
    inside their document; the numbering carries from one batch to the next (one process, in order).

    >>> to_records = DatasetRecords(DatasetColumns("tokens", "ner_tags", ["O", "B-PER"]), "demo")
    >>> to_records({"tokens": [["Ada", "spoke"], []], "ner_tags": [[1, 0], []]}, [0, 1])["gold_tags"]
    [['B-PER', 'O']]
    """

    def __init__(self, columns: DatasetColumns, source: str, plain: bool = False):
        self.columns, self.source = columns, source
        self.checker = TagChecker(source, plain)
        self.last_document, self.index = None, 0

    def __call__(self, batch: Dict[str, list], indices: List[int]) -> Dict[str, list]:
        columns, names = self.columns, self.columns.names
        documents = batch["document_id"] if columns.documents else [None] * len(indices)
        out: Dict[str, list] = {"tokens": [], "gold_tags": [], "document_id": [], "sentence_index": [], "line": []}
        for row, words, tags, document in zip(indices, batch[columns.words], batch[columns.tags], documents):
            if names is not None:
                if any(not isinstance(tag, int) or not 0 <= tag < len(names) for tag in tags):
                    raise NerDataError(f"row {row}: tag id out of range of the {len(names)} label names", where=self.source)
                tags = [names[tag] for tag in tags]
            problem = next((problem for problem in map(self.checker.problem, tags) if problem is not None), None)
            if problem is not None:
                raise NerDataError(f"row {row}: {problem}", where=self.source)
            if len(tags) != len(words):
                raise NerDataError(f"row {row}: {len(words)} words but {len(tags)} tags", where=self.source)
            if not words:
                continue
            document = "" if document is None else str(document)
            self.index = self.index + 1 if document == self.last_document else 0
            self.last_document = document
            for key, value in (("tokens", list(words)), ("gold_tags", list(tags)), ("document_id", document),
                               ("sentence_index", self.index), ("line", None)):
                out[key].append(value)
        return out


def rows_holding(dataset, column: str, sentences: Optional[int]) -> int:
    """How many of ``dataset``'s first rows hold ``sentences`` non-empty ones (all rows when None), counted on
    the lengths Arrow computes batch by batch."""
    import pyarrow.compute as pc

    if sentences is None:
        return len(dataset)
    rows = found = 0
    for batch in dataset.select_columns([column]).with_format("arrow").iter(batch_size=10000):
        for length in pc.list_value_length(batch[column]).to_pylist():
            if found >= sentences:
                return rows
            rows += 1
            found += bool(length)
    return rows


def arrow_split_of_dataset(dataset, columns: DatasetColumns, source: str, plain: bool = False,
                           limit: Optional[int] = None, cache_dir: Optional[str] = None):
    """``(split, summary)`` for a split of a hub or saved dataset, as :func:`arrow_split` gives for a file: the
    rows turned into raw-split records by ``datasets.map`` in batches, written to an Arrow file in our cache
    folder (never beside a saved dataset the user gave) and found again by the source's fingerprint."""
    import datasets
    from datasets.fingerprint import Hasher

    rows = rows_holding(dataset, columns.words, limit)
    if rows < len(dataset):
        dataset = dataset.select(range(rows))
    key = Hasher.hash([dataset._fingerprint, dataclasses.asdict(columns), plain, SPLIT_VERSION])
    folder = os.path.join(cache_dir or datasets.config.HF_DATASETS_CACHE, "nerkit")
    os.makedirs(folder, exist_ok=True)
    with quiet_progress():
        converted = dataset.map(DatasetRecords(columns, source, plain), batched=True, with_indices=True,
                                remove_columns=dataset.column_names, features=split_features(),
                                cache_file_name=os.path.join(folder, f"dataset-split-{key}.arrow"), new_fingerprint=key)
    if not len(converted):
        raise NerDataError(EMPTY_INPUT, where=source)
    return converted, TagSummary.of_dataset(converted, plain)


def iob2_batch(batch: Dict[str, list], scheme_name: str, strict: bool, source: str) -> Dict[str, list]:
    """One batch of :func:`to_iob2`: tags in IOB2 (repaired, or an error under ``--strict``); ``repairs`` counts
    the batch's repaired tags on its first row (the others 0), so their sum is the split's."""
    scheme = PLAIN if scheme_name == PLAIN.name else None
    if scheme is PLAIN:
        return {"ner_tags": batch["gold_tags"], "repairs": [0] * len(batch["gold_tags"])}
    sentences = [Sentence(tokens, tags, line=line) for tokens, tags, line in
                 zip(batch["tokens"], batch["gold_tags"], batch["line"])]
    fixed, report = validate_tags(sentences, scheme_name, strict, path=source, strict_error=name_violation)
    repairs = [0] * len(fixed)
    if repairs:
        repairs[0] = report.repairs
    return {"ner_tags": [convert(sentence.ner_tags, scheme_name, IOB2) for sentence in fixed], "repairs": repairs}


def to_iob2(dataset, scheme: TaggingScheme, strict: bool, source: str):
    """``(dataset, repairs)``: ``dataset`` with a ``ner_tags`` column, its ``gold_tags`` in IOB2."""
    import pyarrow.compute as pc

    with quiet_progress():
        converted = dataset.map(iob2_batch, batched=True, fn_kwargs={"scheme_name": scheme.name, "strict": strict,
                                                                      "source": source})
    repairs = int(pc.sum(converted.data.column("repairs")).as_py() or 0)
    return converted.remove_columns(["repairs"]), repairs


def iter_column(dataset, column: str, batch_size: int = 1000) -> Iterator[list]:
    """The rows of one column, read a batch at a time (``dataset[column]`` would hold the whole column)."""
    for batch in dataset.select_columns([column]).iter(batch_size=batch_size):
        yield from batch[column]


def column_lengths(dataset, column: str) -> List[int]:
    """The length of each row's list in ``column``, computed by Arrow in batches."""
    import pyarrow.compute as pc

    lengths: List[int] = []
    for batch in dataset.select_columns([column]).with_format("arrow").iter(batch_size=10000):
        lengths.extend(pc.list_value_length(batch[column]).to_pylist())
    return lengths


def distinct_values(dataset, column: str) -> Set[str]:
    """The distinct strings of a column of string lists, read in Arrow batches (no Python list of the column)."""
    import pyarrow.compute as pc

    values: Set[str] = set()
    for batch in dataset.select_columns([column]).with_format("arrow").iter(batch_size=10000):
        values.update(pc.unique(pc.list_flatten(batch[column])).to_pylist())
    return values

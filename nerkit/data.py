"""From what the user names (files, a local folder, a saved dataset or a hub id) to a ``DatasetDict``.

Every split gets the same columns: ``tokens``, ``ner_tags`` (IOB2 strings, what training uses),
``gold_tags`` (the tags exactly as given, for prediction files), ``document_id`` and ``sentence_index``.
The input's tagging scheme is detected (or given), invalid sequences are repaired with a count (or rejected
under ``--strict``), and the scheme is remembered so predictions can be written back in it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from .arrow_splits import DatasetColumns, TagSummary, arrow_split, arrow_split_of_dataset, to_iob2
from .errors import NerDataError, SetupError
from .files import read_text, safe_join
from .formats import FormatOptions, ReadReport
from .formats.splits import find_splits
from .modeling import has_plain_labels
from .schemes import SchemeVotes, TaggingScheme, get_scheme

logger = logging.getLogger(__name__)

SPLIT_ARGUMENTS = {"train": "train_file", "validation": "validation_file", "test": "test_file"}


@dataclass
class LoadedData:
    """The raw splits (``datasets.Dataset``, on disk for files) plus what was learned while reading them."""

    splits: Dict[str, object]
    sources: Dict[str, str]  # split -> file or dataset it came from, for messages
    input_scheme: TaggingScheme
    repairs: Dict[str, int] = field(default_factory=dict)
    report: ReadReport = field(default_factory=ReadReport)
    # The tag names a dataset declares in id order (a ``ClassLabel``, or ``--label_list`` for integer tags).
    label_names: Optional[List[str]] = None

    def to_dataset_dict(self):
        """A ``datasets.DatasetDict`` with the columns described in the module docstring."""
        import datasets

        return datasets.DatasetDict(self.splits)


def format_options(data_args, report: Optional[ReadReport] = None) -> FormatOptions:
    return FormatOptions(
        encoding=data_args.encoding,
        token_column=data_args.token_column,
        tag_column=data_args.tag_column,
        tokens_field=data_args.text_column_name,
        tags_field=data_args.label_column_name,
        label_list=data_args.label_list.split(",") if data_args.label_list else None,
        plain_labels=getattr(data_args, "plain_labels", False),
        annotation=getattr(data_args, "annotation", "latest"),
        offset_unit=getattr(data_args, "offset_unit", "auto"),
        report=report or ReadReport(),
    )


def load_data(data_args, model_args=None, splits: Sequence[str] = ("train", "validation", "test")) -> LoadedData:
    """Read the splits named in ``splits`` that the arguments provide; normalise scheme and tags.

    Files are streamed into on-disk Arrow datasets (:mod:`nerkit.arrow_splits`), cached in ``--cache_dir``."""
    report = ReadReport()
    options = format_options(data_args, report)
    cache_dir = getattr(model_args, "cache_dir", None)
    raw, summaries, sources = {}, {}, {}
    label_names = None
    limits = {"train": data_args.max_train_samples, "validation": data_args.max_eval_samples, "test": data_args.max_predict_samples}
    files: Dict[str, str] = {}

    if data_args.dataset_name is not None:
        name = data_args.dataset_name
        if os.path.isdir(name) and not (Path(name) / "dataset_dict.json").exists():
            files.update({split: str(path) for split, path in find_splits(name).items() if split in splits})
        else:
            for split, dataset, source in _load_hf_dataset(data_args, model_args):
                if split in splits:
                    columns = dataset_columns(dataset, data_args, source)
                    raw[split], summaries[split] = arrow_split_of_dataset(dataset, columns, source, options.plain_labels,
                                                                          limits.get(split), cache_dir)
                    sources[split] = source
                    label_names = label_names or columns.names
    for split, argument in SPLIT_ARGUMENTS.items():
        path = getattr(data_args, argument)
        if path is not None and split in splits:
            files[split] = path
    for split, path in files.items():
        raw[split], summaries[split] = arrow_split(path, data_args.input_format, options, limits.get(split), cache_dir)
        sources[split] = str(path)

    scheme = _input_scheme(data_args.tagging_scheme, summaries)
    loaded = LoadedData(splits={}, sources=sources, input_scheme=scheme, report=report, label_names=label_names)
    for split, dataset in raw.items():
        loaded.splits[split], loaded.repairs[split] = to_iob2(dataset, scheme, data_args.strict, sources[split])
        if loaded.repairs[split]:
            logger.warning(f"{sources[split]}: repaired {loaded.repairs[split]} tags that broke the {scheme} scheme")
    for message in report.notes[:20]:
        logger.warning(message)
    return loaded


def _input_scheme(name: str, summaries: Dict[str, TagSummary]) -> TaggingScheme:
    if name and name != "auto":
        return get_scheme(name)
    # Every split read votes (nerkit.schemes.SchemeVotes counts entity starts over all of them), as
    # convert_iob.py does: one split alone may hold too little evidence.
    if not summaries:
        raise SetupError("no data: give --train_file, --validation_file, --test_file or --dataset_name")
    votes = SchemeVotes()
    for summary in summaries.values():
        for key, count in summary.votes.items():
            votes.counts[key] += count
    return votes.scheme()


# --- datasets from the hub or saved with save_to_disk -------------------------------------------------------


def _load_hf_dataset(data_args, model_args) -> List[Tuple[str, object, str]]:
    """``(split, dataset, source)`` for each split of a hub or saved dataset, its name mapped to ours
    (``dev``/``valid`` are ``validation``); ``source`` names it in messages."""
    import datasets

    name = data_args.dataset_name
    if os.path.isdir(name):
        _check_saved_dataset(name)
        dataset_dict = datasets.load_from_disk(name)
    else:
        try:
            dataset_dict = datasets.load_dataset(
                name,
                data_args.dataset_config_name,
                cache_dir=getattr(model_args, "cache_dir", None),
                token=getattr(model_args, "token", None),
            )
        except (FileNotFoundError, ConnectionError, ValueError) as error:
            raise SetupError(f"cannot load dataset {name!r}: {str(error).splitlines()[0]}") from None
    if not isinstance(dataset_dict, datasets.DatasetDict):
        dataset_dict = datasets.DatasetDict({"train": dataset_dict})
    split_names = {"train": "train", "validation": "validation", "valid": "validation", "dev": "validation", "test": "test"}
    return [(split_names.get(split, split), dataset, f"{name}[{split}]") for split, dataset in dataset_dict.items()]


def _check_saved_dataset(folder: str) -> None:
    """A ``save_to_disk`` folder names its split folders (``dataset_dict.json``) and their files (each
    ``state.json``); ``datasets`` follows those names wherever they lead, so check they stay inside ``folder``."""
    import json

    def parse(path: Path):
        try:
            return json.loads(read_text(path))
        except json.JSONDecodeError as error:
            raise NerDataError(f"not valid JSON: {error.msg}", path=str(path), line=error.lineno) from None

    index = Path(folder) / "dataset_dict.json"
    document = parse(index)
    splits = document.get("splits") if isinstance(document, dict) else None
    if not isinstance(splits, list) or not all(isinstance(split, str) for split in splits):
        raise NerDataError('expected {"splits": ["train", ...]}', path=str(index))
    for split in splits:
        split_folder = safe_join(folder, split)
        state = split_folder / "state.json"
        if state.is_file():
            document = parse(state)
            files = document.get("_data_files", []) if isinstance(document, dict) else None
            if not isinstance(files, list):
                raise NerDataError('expected "_data_files": [{"filename": ...}]', path=str(state))
            for entry in files:
                safe_join(split_folder, str(entry.get("filename", "")) if isinstance(entry, dict) else "")


def dataset_columns(dataset, data_args, source: str) -> DatasetColumns:
    """Which of a ``datasets.Dataset``'s columns hold the words and the tags, and the tag names in id order when
    the tags are class ids (a ``ClassLabel``, or ``--label_list`` for plain integers)."""
    import datasets

    features = dataset.features
    columns = list(features)
    text_column = _pick_column(
        data_args.text_column_name, ["tokens", "words"], columns, features, want="words", source=source
    )
    label_column = _pick_column(
        data_args.label_column_name,
        [f"{data_args.task_name}_tags", "ner_tags", "tags", "labels"],
        [c for c in columns if c != text_column],
        features,
        want="tags",
        source=source,
    )
    label_feature = getattr(features[label_column], "feature", None)
    if isinstance(label_feature, datasets.ClassLabel):
        names = list(label_feature.names)
    elif label_feature is not None and str(getattr(label_feature, "dtype", "")).startswith("int"):
        if not data_args.label_list:
            raise NerDataError(f"column {label_column!r} holds integer tags: give their names with --label_list", where=source)
        names = data_args.label_list.split(",")
    else:
        names = None
    return DatasetColumns(text_column, label_column, names, documents="document_id" in columns)


def _pick_column(given, preferred, columns, features, want: str, source: str) -> str:
    if given is not None:
        if given not in columns:
            raise NerDataError(f"no column {given!r} (columns: {', '.join(columns)})", where=source)
        return given
    for name in preferred:
        if name in columns:
            return name
    candidates = [c for c in columns if hasattr(features[c], "feature")]
    if len(candidates) == 1:
        return candidates[0]
    flag = "--text_column_name" if want == "words" else "--label_column_name"
    raise NerDataError(f"cannot tell which column holds the {want} (columns: {', '.join(columns)}); give {flag}", where=source)


def load_requested_splits(data_args, model_args, do_train: bool, do_eval: bool, do_predict: bool) -> LoadedData:
    """The splits the run needs (train / validation / test), each required to exist."""
    wanted = {"train": ("train", do_train), "validation": ("eval", do_eval), "test": ("predict", do_predict)}
    splits = [split for split, (_, on) in wanted.items() if on]
    if not splits:
        raise SetupError("nothing to do: pass --do_train, --do_eval and/or --do_predict")
    if data_args.tagging_scheme == "auto" and model_args is not None:
        if has_plain_labels(model_args):
            logger.info(f"{model_args.model_name_or_path} has plain labels: reading the data's tags as plain labels")
            data_args.tagging_scheme = "none"
    loaded = load_data(data_args, model_args, splits=splits)
    for split in splits:
        if split not in loaded.splits:
            raise SetupError(f"--do_{wanted[split][0]} needs a {split} split: give --{SPLIT_ARGUMENTS[split]} "
                               "or a --dataset_name that has one")
    return loaded

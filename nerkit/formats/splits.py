"""Finding the train / validation / test parts of a dataset folder by their names.

A file belongs to a split when its name holds one of that split's aliases as a word of its own: letters may
not touch the alias on either side (digits and punctuation may), so ``wnut17train.conll`` is train and
``eng.testa`` is validation, not test. Sub-folders named exactly like an alias (``train/``, ``devel/``, ...)
are BRAT folders. ``labels*.txt`` files with a ``text*.txt`` partner belong to that partner (NeMo layout), and
READMEs, licences, checksums and other non-data files are skipped.

=============  ==============================================================================
split          names (case-insensitive)
=============  ==============================================================================
train          train.*, eng.train, wnut17train.conll, text_train.txt, training.*, train/
validation     dev.*, devel.*, valid*, validation.*, val.*, eng.testa, emerging.dev.conll, dev/ devel/
test           test.*, eng.testb, emerging.test.annotated, text_test.txt, test/
=============  ==============================================================================

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> for name in ("eng.train", "eng.testa", "eng.testb", "README.txt"):
...     _ = (folder / name).write_text("x")
>>> {split: path.name for split, path in find_splits(folder).items()}
{'train': 'eng.train', 'validation': 'eng.testa', 'test': 'eng.testb'}
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict, List, Optional

from ..errors import NerDataError
from ..files import safe_join

SPLITS = ("train", "validation", "test")

# Aliases per split; eng.testa / eng.testb are CoNLL-2003's development and test files.
SPLIT_ALIASES: Dict[str, tuple] = {
    "train": ("train", "training"),
    "validation": ("validation", "valid", "val", "development", "devel", "dev", "testa"),
    "test": ("test", "testb"),
}

_PATTERNS = {
    split: re.compile(r"(?<![a-z])(?:" + "|".join(sorted(aliases, key=len, reverse=True)) + r")(?![a-z])")
    for split, aliases in SPLIT_ALIASES.items()
}
_FOLDER_NAMES = {alias: split for split, aliases in SPLIT_ALIASES.items() for alias in aliases if alias not in ("testa", "testb")}
_SKIPPED_NAMES = re.compile(r"^(readme|license|licence|copying|sha\d*sums?|md5sums?|checksums?|label_ids)", re.IGNORECASE)
_SKIPPED_SUFFIXES = {".md", ".py", ".sh", ".pdf", ".log", ".lock", ".tmp", ".sha256", ".md5", ".yaml", ".yml", ".cfg", ".ini"}


def split_of(name: str) -> Optional[str]:
    """The split a file name stands for, None when it names none; an error when it names two.

    >>> split_of("wnut17train.conll"), split_of("emerging.test.annotated"), split_of("eng.testa"), split_of("notes")
    ('train', 'test', 'validation', None)
    """
    lowered = name.lower()
    found = [split for split, pattern in _PATTERNS.items() if pattern.search(lowered)]
    if len(found) > 1:
        raise NerDataError(f"the name {name!r} names several splits ({', '.join(found)}); rename it or give each split's file")
    return found[0] if found else None


def find_splits(folder) -> Dict[str, Path]:
    """Map ``train`` / ``validation`` / ``test`` to the files (or BRAT sub-folders) of a dataset folder.

    Splits that are absent are left out; two candidates for one split are an error naming both, and so is a
    folder where nothing matches.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NerDataError("not a folder", path=str(folder))
    candidates: Dict[str, List[Path]] = {split: [] for split in SPLITS}
    for entry in sorted(folder.iterdir()):
        split = _entry_split(entry)
        if split is not None:
            _check_inside(folder, entry)
            candidates[split].append(entry)
    found = {}
    for split, paths in candidates.items():
        if len(paths) > 1:
            names = ", ".join(p.name + ("/" if p.is_dir() else "") for p in paths)
            raise NerDataError(f"several candidates for the {split} split ({names}); keep one or name the files", path=str(folder))
        if paths:
            found[split] = paths[0]
    if not found:
        raise NerDataError(
            "no train/validation/test files found (expected names like train.*, dev.*, test.*, eng.testa, text_train.txt)",
            path=str(folder),
        )
    return found


def _check_inside(folder: Path, entry: Path) -> None:
    """A split file (or BRAT sub-folder) must not be a link to somewhere outside the dataset folder: data from
    elsewhere (a private file, say) would be read, and quoted in error messages, as if it were the corpus."""
    try:
        safe_join(folder, entry.name)
    except NerDataError:
        raise NerDataError(
            f"links to {os.path.realpath(entry)}, outside the dataset folder; give that file with "
            "--train_file/--validation_file/--test_file if it is meant",
            path=str(entry),
        ) from None


def _entry_split(entry: Path) -> Optional[str]:
    name = entry.name
    if name.startswith((".", "_")):
        return None
    if entry.is_dir():
        return _FOLDER_NAMES.get(name.lower())
    if _SKIPPED_NAMES.match(name) or entry.suffix.lower() in _SKIPPED_SUFFIXES:
        return None
    if name.startswith("labels") and entry.with_name("text" + name[len("labels"):]).exists():
        return None  # the partner of a NeMo text*.txt file, which stands for the pair
    try:
        return split_of(name)
    except NerDataError as error:
        raise NerDataError(error.message, path=str(entry)) from None

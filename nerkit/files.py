"""Reading the user's files safely and writing ours atomically.

- :func:`read_text` (:func:`decode_text` for bytes read from stdin) decodes with the given encoding, strips a
  UTF-8 BOM, tolerates CRLF, and turns undecodable bytes or NUL bytes into a :class:`NerDataError` naming the
  file and line.
- :func:`atomic_write` writes to a temporary file beside the target and renames it at the end, so an
  interrupted run leaves the old file or the new one, never half of one.
- :func:`safe_join` keeps paths named inside data files (BRAT, dataset folders) inside their folder.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Iterator, List, Union

from .errors import NerDataError

PathLike = Union[str, os.PathLike]


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole file as text with ``\\n`` line ends and no BOM; a clear error for bad bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NerDataError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise NerDataError("is a folder, expected a file", path=str(path)) from None
    except PermissionError:
        raise NerDataError("permission denied", path=str(path)) from None
    return decode_text(data, encoding, str(path))


def decode_text(data: bytes, encoding: str = "utf-8", source: str = "<stdin>", stream: bool = False) -> str:
    """Bytes to text with ``\\n`` line ends and no BOM; a clear error naming ``source`` and the line for bad bytes.

    ``stream``: the bytes were read from stdin, not from a file (only the message about a NUL byte says so).

    >>> decode_text(b"\\xef\\xbb\\xbfAda\\r\\nwrote.")
    'Ada\\nwrote.'
    """
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NerDataError(
            f"byte 0x{data[error.start]:02x} cannot be decoded as {encoding} (try --encoding latin-1)",
            path=source,
            line=line,
        ) from None
    except LookupError:
        raise NerDataError(f"unknown encoding {encoding!r}", path=source) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        where, what = ("text input", "binary data") if stream else ("a text file", "binary file")
        raise NerDataError(f"NUL byte in {where} ({what} or wrong --encoding?)", path=source, line=line)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_lines(path: PathLike, encoding: str = "utf-8") -> List[str]:
    """Lines without their line ends (see :func:`read_text`)."""
    text = read_text(path, encoding)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@contextlib.contextmanager
def atomic_write(path: PathLike, mode: str = "w", encoding: str = "utf-8") -> Iterator:
    """Open a temporary file beside ``path``; rename it over ``path`` only when the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    except OSError as error:
        if error.errno in _FULL_OR_READ_ONLY:
            raise NerDataError(f"cannot write: {error.strerror or error}", path=str(path)) from None
        raise
    try:
        with os.fdopen(handle, mode, encoding=None if "b" in mode else encoding, newline=None if "b" in mode else "\n") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open() would have (or keep the
        # mode of the file it replaces).
        os.chmod(temporary, _mode_for(path))
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno in _FULL_OR_READ_ONLY:
            # A disk that fills up (or turns read-only) mid-run: one line naming the file, the old file intact.
            raise NerDataError(f"cannot write: {error.strerror or error}; nothing was changed", path=str(path)) from None
        raise


_FULL_OR_READ_ONLY = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def _mode_for(path: Path) -> int:
    """The permission bits of ``path`` if it exists, else ``0o666`` less the process umask."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def safe_join(folder: PathLike, name: str) -> Path:
    """``folder/name``, refusing a name that would leave ``folder`` (``../``, absolute paths, symlinks out)."""
    base = Path(folder).resolve()
    candidate = (base / name).resolve()
    if candidate != base and base not in candidate.parents:
        raise NerDataError(f"path {name!r} escapes the folder it was given in", path=str(folder))
    return candidate

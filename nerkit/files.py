"""Reading the user's files safely and writing ours atomically.

- :func:`read_text` (:func:`decode_text` for bytes read from stdin) decodes with the given encoding, strips a
  UTF-8 BOM, tolerates CRLF, and turns undecodable bytes or NUL bytes into a :class:`NerDataError` naming the
  file and line.
- :func:`atomic_write` writes to a temporary file beside the target and renames it at the end, so an
  interrupted run leaves the old file or the new one, never half of one.
- Compressed files (gzip, bzip2, xz, Zstandard) are decompressed on reading, recognised by their first bytes
  whatever their name (:func:`read_bytes`, :func:`read_head`); :func:`without_compression` drops the
  suffix (``train.conll.gz`` -> ``train.conll``) so that the rest of the name can tell the format.
- :func:`safe_join` keeps paths named inside data files (BRAT, dataset folders) inside their folder.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import errno
import gzip
import lzma
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator, List, Optional, Union

from .errors import NerDataError

PathLike = Union[str, os.PathLike]


def _zstd_reader(raw: BinaryIO) -> BinaryIO:
    import zstandard  # imported only for a .zst file

    return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)


# name, first bytes, file suffix, and how to read a decompressed stream from the raw one
COMPRESSIONS = (
    ("gzip", b"\x1f\x8b", ".gz", lambda raw: gzip.GzipFile(fileobj=raw, mode="rb")),
    ("bzip2", b"BZh", ".bz2", lambda raw: bz2.BZ2File(raw, "rb")),
    ("xz", b"\xfd7zXZ\x00", ".xz", lambda raw: lzma.LZMAFile(raw, "rb")),
    ("zstd", b"\x28\xb5\x2f\xfd", ".zst", _zstd_reader),
)


def without_compression(name: str) -> str:
    """A file name without a compression suffix.

    >>> without_compression("train.CONLL.gz"), without_compression("a.jsonl.zst"), without_compression("eng.testa")
    ('train.CONLL', 'a.jsonl', 'eng.testa')
    """
    for _, _, suffix, _ in COMPRESSIONS:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _compression(head: bytes):
    """The entry of :data:`COMPRESSIONS` whose magic bytes ``head`` starts with (bzip2: and a block size digit)."""
    for compression in COMPRESSIONS:
        if head.startswith(compression[1]) and (compression[0] != "bzip2" or head[3:4].isdigit()):
            return compression
    return None


@contextlib.contextmanager
def _open_bytes(path: PathLike) -> Iterator[BinaryIO]:
    """The file's bytes as a stream, decompressed when its first bytes say it is compressed."""
    path = Path(path)
    try:
        raw = open(path, "rb")
    except FileNotFoundError:
        raise NerDataError("file not found", path=str(path)) from None
    except IsADirectoryError:
        raise NerDataError("is a folder, expected a file", path=str(path)) from None
    except PermissionError:
        raise NerDataError("permission denied", path=str(path)) from None
    with raw:
        compression = _compression(raw.read(8))
        raw.seek(0)
        if compression is None:
            yield raw
            return
        try:
            yield compression[3](raw)
        except (OSError, EOFError, lzma.LZMAError, ValueError) as error:
            raise NerDataError(f"cannot decompress ({compression[0]}): {error}", path=str(path)) from None
        except Exception as error:  # zstandard.ZstdError, not importable before it is needed
            if type(error).__name__ != "ZstdError":
                raise
            raise NerDataError(f"cannot decompress ({compression[0]}): {error}", path=str(path)) from None


def read_bytes(path: PathLike) -> bytes:
    """All the bytes of a file, decompressed when it is gzip, bzip2, xz or Zstandard (by its first bytes)."""
    with _open_bytes(path) as stream:
        return stream.read()


def read_head(path: PathLike, size: int) -> Optional[bytes]:
    """The first ``size`` bytes of a file, decompressed; None when it cannot be read."""
    try:
        with _open_bytes(path) as stream:
            return stream.read(size)
    except (NerDataError, OSError):
        return None


def read_text(path: PathLike, encoding: str = "utf-8") -> str:
    """The whole file (decompressed) as text with ``\\n`` line ends and no BOM; a clear error for bad bytes."""
    return decode_text(read_bytes(path), encoding, str(path))


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
    return list(iter_lines(path, encoding))


def iter_lines(path: PathLike, encoding: str = "utf-8", chunk_size: int = 1 << 20) -> Iterator[str]:
    """:func:`read_lines` one line at a time, reading ``chunk_size`` bytes at once: memory does not grow with the
    file. The same text and the same errors (bad bytes, NUL bytes, with their line) as :func:`read_text`.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lines.txt"
    >>> _ = path.write_bytes(b"\\xef\\xbb\\xbfAda\\r\\nwrote\\rit\\n\\n")
    >>> list(iter_lines(path, chunk_size=4))
    ['Ada', 'wrote', 'it', '']
    """
    try:
        decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    except LookupError:
        raise NerDataError(f"unknown encoding {encoding!r}", path=str(path)) from None
    line_number, rest, start = 1, "", True
    with _open_bytes(path) as stream:
        while True:
            chunk = stream.read(chunk_size)
            pending = decoder.getstate()[0]
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                offset = max(error.start - len(pending), 0)
                line = line_number + rest.count("\n") + chunk[:offset].count(b"\n")
                raise NerDataError(f"byte 0x{error.object[error.start]:02x} cannot be decoded as {encoding} "
                                   "(try --encoding latin-1)", path=str(path), line=line) from None
            if start and text:
                text, start = text.removeprefix("\ufeff"), False
            if "\x00" in text:
                line = line_number + rest.count("\n") + text[: text.index("\x00")].count("\n")
                raise NerDataError("NUL byte in a text file (binary file or wrong --encoding?)", path=str(path), line=line)
            text = rest + text
            # A "\r" at the end may be the first half of "\r\n": keep it until the next chunk says.
            keep = 1 if chunk and text.endswith("\r") else 0
            text, rest = text[: len(text) - keep], text[len(text) - keep:]
            lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            rest = lines.pop() + rest
            line_number += len(lines)
            yield from lines
            if not chunk:
                break
    if rest:
        yield rest


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

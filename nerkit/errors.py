"""Errors the user can fix, and the one place where they become a CLI exit.

Two kinds, one base (:class:`UserError`): :class:`NerDataError`, a problem in the data, raised by every reader
with the file, the line (or document and character offset) and the problem; :class:`SetupError`, a problem in
how the run is set up (an option, the model, the device, the output folder, the hub). Scripts wrap ``main()`` in :func:`exit_on_user_error`, which prints that one line on stderr and
exits with status 2, without a traceback; a closed stdout (``| head``) ends the script quietly with 141, as
for ``cat``. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable, Optional, TypeVar

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141

F = TypeVar("F", bound=Callable)


class UserError(Exception):
    """A problem the user can fix: ``path:line: message``.

    >>> str(NerDataError("tag 'B_PER' is not a tag", path="train.txt", line=12))
    "train.txt:12: tag 'B_PER' is not a tag"
    """

    def __init__(self, message: str, path: Optional[str] = None, line: Optional[int] = None, where: Optional[str] = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.where = where  # free-form position when there is no line: "document 123, offset 45"
        super().__init__(str(self))

    def __str__(self) -> str:
        location = ""
        if self.path is not None:
            location = self.path
            if self.line is not None:
                location += f":{self.line}"
            if self.where:
                location += f" ({self.where})"
            location += ": "
        elif self.where:
            location = f"{self.where}: "
        return location + self.message


class NerDataError(UserError):
    """A problem in the user's data: a file, a line, a document, a column."""


class SetupError(UserError):
    """A problem in how the run is set up: an option, the model, the device, the output folder, the hub."""


def exit_on_user_error(main: F) -> F:
    """Decorate a script's ``main`` so user errors print one line and exit 2 instead of a traceback."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            return main(*args, **kwargs)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(EXIT_USAGE)
        except BrokenPipeError:
            # The reader of stdout went away (``... --output - | head``): stop quietly, as ``cat`` does, with
            # 141 = 128 + SIGPIPE; stdout goes to /dev/null so the interpreter's final flush cannot fail again.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_BROKEN_PIPE)
        except KeyboardInterrupt as interrupt:
            # 130 = 128 + SIGINT, what a shell reports for Ctrl-C; a message says where a checkpoint was saved.
            print(f"interrupted: {interrupt}" if str(interrupt) else "interrupted", file=sys.stderr)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]

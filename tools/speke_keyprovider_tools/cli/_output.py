"""Terminal output, exit codes and the usage error every command raises."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from typing import IO, Any

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_UNAVAILABLE = 0, 1, 2, 3


class CliError(Exception):
    """A refusal the command prints as ``error: ...`` and exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


class Out:
    """Writes to a stream; colour only on a TTY, never with NO_COLOR or --no-color."""

    def __init__(self, stream: IO[str], *, colour: bool | None = None) -> None:
        self.stream = stream
        if colour is None:
            colour = (
                hasattr(stream, "isatty")
                and stream.isatty()
                and not os.environ.get("NO_COLOR")
                and os.environ.get("TERM") != "dumb"
            )
        self.colour = bool(colour)

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def green(self, text: str) -> str:
        return self.paint(text, "32")

    def red(self, text: str) -> str:
        return self.paint(text, "31")

    def yellow(self, text: str) -> str:
        return self.paint(text, "33")

    def bold(self, text: str) -> str:
        return self.paint(text, "1")

    def dim(self, text: str) -> str:
        return self.paint(text, "2")

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
        self.line(self.bold("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()))
        for row in rows:
            self.line("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def emit_json(stream: IO[str], payload: Any) -> None:
    json.dump(payload, stream, indent=2, sort_keys=False, default=str)
    stream.write("\n")


def add_common_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="machine-readable output on stdout")
    parser.add_argument("--no-color", action="store_true", help="never colour the output")

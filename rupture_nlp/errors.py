"""The one error a user ever sees from reading a transcript.

Every reader raises `TranscriptError` with the file, the line (or paragraph, row, cue)
where the problem is and a plain message that says what is wrong and what to do. The
CLI prints it as `path:line: message` and goes on with the next file, so a user never
sees a traceback and never loses the files that did read.
"""

from __future__ import annotations

from pathlib import Path


class TranscriptError(Exception):
    """A transcript could not be read; carries where and why."""

    def __init__(self, path: str | Path | None, line: int | None, message: str) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.path or "<input>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"

    def __reduce__(self):  # keep pickling (multiprocessing workers) working
        return (TranscriptError, (self.path, self.line, self.message))

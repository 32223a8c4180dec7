"""Errors a user sees: each names the file, the stage that failed and why, in one line."""

from __future__ import annotations

from pathlib import Path


class TiltakError(Exception):
    """Base class for errors the pipeline reports to users rather than crashing on."""


class DocumentError(TiltakError):
    """One document could not be processed. The batch goes on; the run manifest records this."""

    def __init__(self, path: Path | str, stage: str, reason: str):
        self.path = Path(path)
        self.stage = stage
        self.reason = reason
        super().__init__(f"{self.path}: {stage}: {reason}")


class UnsupportedFormatError(DocumentError):
    """The file's content is not a format tiltak reads (sniffed from the bytes, not only the extension)."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(path, "load", reason)

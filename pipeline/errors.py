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

    def __reduce__(self):
        # Crosses processes intact (Dask workers pickle a task's exception): the file, stage and reason it names.
        return _rebuild_document_error, (type(self), str(self.path), self.stage, self.reason)


class UnsupportedFormatError(DocumentError):
    """The file's content is not a format tiltak reads (sniffed from the bytes, not only the extension)."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(path, "load", reason)


def _rebuild_document_error(cls: type[DocumentError], path: str, stage: str, reason: str) -> DocumentError:
    error = DocumentError.__new__(cls)
    DocumentError.__init__(error, path, stage, reason)
    return error

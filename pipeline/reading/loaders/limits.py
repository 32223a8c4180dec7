"""The run's guards against documents too large to process (``LoadLimits``) and the wording of what to raise: each
loader imports this module, never the package, so the package can import its loaders without a circle."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import DocumentError, UnsupportedFormatError


def raise_hint(key: str, value: object) -> str:
    return f"raise it with `{key} = {value}` in the file given to --config"


@dataclass(frozen=True)
class LoadLimits:
    """Limits on one document. ``deadline`` is a ``time.monotonic()`` value; None means no limit."""

    max_pages: int | None = None
    max_chars: int | None = None
    max_seconds: float | None = None
    deadline: float | None = None
    max_bytes: int | None = None

    @classmethod
    def starting_now(cls, *, max_pages: int | None = None, max_chars: int | None = None,
                     max_seconds: float | None = None, max_bytes: int | None = None) -> LoadLimits:
        deadline = time.monotonic() + max_seconds if max_seconds is not None else None
        return cls(max_pages=max_pages, max_chars=max_chars, max_seconds=max_seconds, deadline=deadline,
                   max_bytes=max_bytes)

    def check_time(self, path: Path, stage: str) -> None:
        """Raise DocumentError once the document has used up its time (a cooperative check)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise DocumentError(path, stage, time_limit_reason(self.max_seconds))

    def check_pages(self, path: Path, pages: int) -> None:
        if self.max_pages is not None and pages > self.max_pages:
            raise UnsupportedFormatError(path, f"PDF has {pages:,} pages, more than the limit of {self.max_pages:,} "
                                               f"(max_pages); {raise_hint('max_pages', pages)}")

    def check_bytes(self, path: Path, size: int) -> None:
        if self.max_bytes is not None and size > self.max_bytes:
            raise UnsupportedFormatError(path, f"file has {size:,} bytes, more than the limit of {self.max_bytes:,} "
                                               f"(max_bytes); {raise_hint('max_bytes', size)}")

    def check_chars(self, path: Path, chars: int, stage: str = "load") -> None:
        if self.max_chars is not None and chars > self.max_chars:
            raise DocumentError(path, stage, f"text has {chars:,} characters, more than the limit of "
                                             f"{self.max_chars:,} (max_chars); {raise_hint('max_chars', chars)}")


NO_LIMITS = LoadLimits()


def time_limit_reason(max_seconds: float | None) -> str:
    seconds = max_seconds or 0.0
    return (f"took longer than {seconds:g} s (max_seconds_per_document); stopped, "
            f"{raise_hint('max_seconds_per_document', f'{2 * seconds:g}')}")

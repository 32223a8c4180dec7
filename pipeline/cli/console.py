"""Console output of the ``tiltak`` commands, for people and for scripts.

- Results go to stdout, progress, notes and errors to stderr.
- On a terminal: colours, a live progress bar with the stage (loading models, reading, analysing, writing), the
  document count and, once a few documents are done, an ETA. When a stream is not a terminal (a pipe, a file, a
  CI log): no colours or markup, no line wrapped at any width, and progress as one plain line per stage (and at
  most one every ``PROGRESS_LINE_SECONDS`` while documents are analysed).
- ``--quiet``: nothing but errors (on stderr). ``--json``: exactly one JSON object on stdout (also when the command
  fails: ``ok`` false, ``error``, ``exit_code``); nothing else on stdout; errors on stderr.
- Prefect's telemetry is off unless the user set it (``quiet_prefect``).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Annotated, Any

import typer
from rich.console import Console

# Wide enough that a line written to a pipe or a file is never wrapped (a table is as wide as its content).
UNWRAPPED_WIDTH = 100_000
# Documents finished before an ETA is shown: the first ones carry the start-up cost and say little about the rest.
ETA_AFTER_DOCUMENTS = 3
PROGRESS_LINE_SECONDS = 10.0

QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors (on stderr).")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Print exactly one JSON summary object on stdout (also on failure: ok false, error, exit_code); "
    "nothing else goes to stdout.")]


def _console(stderr: bool) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    console = Console(stderr=stderr)
    if not console.is_terminal or not stream.isatty():
        console.width = UNWRAPPED_WIDTH
        console.soft_wrap = True
        console.no_color = True
    return console


class OutputMode:
    """How the running command prints: set once per command by ``configure``."""

    command: str | None = None
    quiet = False
    json = False
    emitted = False


stdout = _console(stderr=False)
stderr = _console(stderr=True)


def configure(command: str, *, quiet: bool = False, as_json: bool = False) -> None:
    """Called first by a command with ``--quiet`` / ``--json``: stdout carries only the JSON summary (``--json``) or
    nothing (``--quiet``); with ``--json`` an unexpected crash still ends in one JSON object."""
    OutputMode.command, OutputMode.quiet, OutputMode.json, OutputMode.emitted = command, quiet, as_json, False
    stdout.quiet = quiet or as_json
    if as_json:
        previous = sys.excepthook

        def crashed(kind, exc, traceback) -> None:
            emit_json({"ok": False, "exit_code": 1, "error": f"internal error: {kind.__name__}: {exc}"})
            previous(kind, exc, traceback)

        sys.excepthook = crashed


def people() -> bool:
    """Whether the output is for people: neither ``--quiet`` nor ``--json``."""
    return not (OutputMode.quiet or OutputMode.json)


def note(message: str) -> None:
    """A notice on stderr (a skipped file, a server being started): not with ``--quiet`` or ``--json``."""
    if people():
        stderr.print(message, markup=False, highlight=False, soft_wrap=True)


def error(message: str) -> None:
    """An error line on stderr: always printed."""
    stderr.print(message, markup=False, highlight=False, soft_wrap=True)


def emit_json(payload: dict[str, Any]) -> None:
    """The command's one JSON object on stdout (with ``--json``; a second call prints nothing)."""
    if not OutputMode.json or OutputMode.emitted:
        return
    OutputMode.emitted = True
    body = {"command": OutputMode.command, **payload}
    sys.stdout.write(json.dumps(body, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def failed_json(message: str, exit_code: int) -> None:
    emit_json({"ok": False, "exit_code": exit_code, "error": message})


def quiet_prefect() -> None:
    """Prefect's telemetry off, unless the user set it (``setdefault``)."""
    # The server's usage reports, and the client's (Prefect reads the DO_NOT_TRACK convention).
    for name, value in (("PREFECT_SERVER_ANALYTICS_ENABLED", "false"), ("DO_NOT_TRACK", "1")):
        os.environ.setdefault(name, value)


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class RunProgress:
    """What a run is doing, on stderr: the stage, documents done of all and an ETA once ``ETA_AFTER_DOCUMENTS`` are
    done. A live bar on a terminal, plain lines otherwise; nothing with ``--quiet`` or ``--json``."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.stage_name = ""
        self.enabled = people()
        self.live = self.enabled and stderr.is_terminal
        self._analysing_since: float | None = None
        self._done_at_analysis_start = 0
        self._last_line = 0.0
        self._bar = None
        self._task = None

    def __enter__(self) -> RunProgress:
        if self.live:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[eta]}"),
                                 TextColumn("{task.fields[current]}"), console=stderr, transient=False)
            self._bar.__enter__()
            self._task = self._bar.add_task("starting", total=self.total, eta="", current="")
        return self

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)

    def eta(self) -> str:
        if self._analysing_since is None:
            return ""
        finished = self.done - self._done_at_analysis_start
        if finished < ETA_AFTER_DOCUMENTS or self.done >= self.total:
            return ""
        seconds = (time.monotonic() - self._analysing_since) / finished * (self.total - self.done)
        return f"about {_duration(seconds)} left"

    def stage(self, name: str) -> None:
        """A new stage: ``loading models``, ``reading``, ``analysing``, ``writing`` …"""
        if name == self.stage_name:
            return
        self.stage_name = name
        if name == "analysing":
            self._analysing_since, self._done_at_analysis_start = time.monotonic(), self.done
        if self._bar is not None:
            self._bar.update(self._task, description=name)
        elif self.enabled and name != "done" and not (name == "analysing" and self.done >= self.total):
            counted = f" ({self.done}/{self.total} documents done)" if name == "analysing" and self.done else ""
            stderr.print(f"tiltak: {name}{counted}", markup=False, highlight=False, soft_wrap=True)
            self._last_line = time.monotonic()

    def document_done(self, name: str) -> None:
        self.done += 1
        if self._bar is not None:
            self._bar.update(self._task, advance=1, current=name, eta=self.eta())
        elif self.enabled and (time.monotonic() - self._last_line >= PROGRESS_LINE_SECONDS or self.done == self.total):
            eta = self.eta()
            stderr.print(f"tiltak: {self.stage_name or 'processing'} {self.done}/{self.total}"
                         + (f", {eta}" if eta else ""), markup=False, highlight=False, soft_wrap=True)
            self._last_line = time.monotonic()


# Shared by every command: where results and errors go, the exit codes, and how a command fails.
console = stdout  # results; not wrapped, no markup when stdout is not a terminal (see ``_console``)
errors = stderr  # errors and notes

EXIT_DOCUMENTS_FAILED = 1
EXIT_CANNOT_START = 2


def fail(message: str, code: int = EXIT_CANNOT_START) -> typer.Exit:
    from pipeline.io import display_path

    # display_path: a file name that is not UTF-8 is shown with U+FFFD, never a crash of the error message itself.
    text = display_path(message)
    error(f"tiltak: error: {text}")
    failed_json(text, code)  # with --json: stdout still carries one JSON object
    return typer.Exit(code)

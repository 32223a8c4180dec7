"""``tiltak report``: the self-contained HTML report (see ``pipeline/research/report.py``).

Wired into the main app by ``register(app)``; ``fail`` and ``console`` come from ``pipeline.cli.console`` at call
time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        outputs: Annotated[list[Path], typer.Argument(
            help="Document JSONs written by `tiltak run`, or folders of them (runs/ is skipped).")],
        comparison: Annotated[Path | None, typer.Option(
            "--comparison", "-c", help="A comparison JSON: adds aligned measures and a focus-area chart.")] = None,
        out: Annotated[Path, typer.Option("--out", "-o", help="The HTML file to write.")] = Path("report.html"),
        title: Annotated[str | None, typer.Option(help="The report's title.")] = None,
        lang: Annotated[str, typer.Option("--lang", help="Interface language: nb (norsk) or en (English).")] = "nb",
    ) -> None:
        """One self-contained HTML report (works offline): highlighted text, searchable and filterable measures with
        their amounts, deadlines and responsible actor, actors, charts; links to PDF pages."""
        from pipeline.cli.console import console, fail
        from pipeline.errors import TiltakError
        from pipeline.research.report import LANGUAGES, load_comparison, load_documents, write_report

        if lang not in LANGUAGES:
            raise fail(f"--lang {lang}: use one of {', '.join(LANGUAGES)}")
        if out.exists() and out.is_dir():
            raise fail(f"{out}: is a folder; --out names the HTML file to write")
        try:
            documents, notes = load_documents(outputs)
            compared = load_comparison(comparison) if comparison is not None else None
        except TiltakError as exc:
            raise fail(str(exc)) from exc
        for note in notes:
            console.print(note, style="yellow", markup=False, highlight=False, soft_wrap=True)
        if not documents:
            raise fail(f"no document JSONs found in {', '.join(map(str, outputs))}")
        try:
            path = write_report(out, documents, compared, title=title, lang=lang)
        except OSError as exc:
            raise fail(f"{out}: cannot write: {exc.strerror}") from exc
        except TiltakError as exc:
            raise fail(str(exc)) from exc
        plural = "s" if len(documents) != 1 else ""
        console.print(f"wrote {path} ({len(documents)} document{plural})", markup=False, highlight=False,
                      soft_wrap=True)

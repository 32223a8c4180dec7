"""``tiltak doctor``: check the installation (see pipeline/ops/doctor.py). Exit 1 if any check fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from pipeline.cli.console import JsonOption, QuietOption

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def doctor(
    out: Annotated[Path, typer.Option("--out", "-o", help="The output folder to check.")] = Path("outputs"),
    nlp: Annotated[str, typer.Option(help="The spaCy pipeline to check (see `tiltak run --help`).")] = "best",
    classifier: Annotated[Path | None, typer.Option(
        help="The focus-area classifier folder to check (default: the shipped one).")] = None,
    trust_classifier: Annotated[bool, typer.Option("--trust-classifier", help="As for `tiltak run`.")] = False,
    trust_nlp: Annotated[bool, typer.Option("--trust-nlp", help="As for `tiltak run`.")] = False,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Check that tiltak can run here: Python, NLP model, classifier (and where it comes from: shipped, local or
    external), taxonomy, Prefect, output folder, extras (Dask, Chromium, Datasette, Parquet, OCR)."""
    import pipeline.cli.console as output
    from pipeline.ops.doctor import failed, run_checks

    output.configure("doctor", quiet=quiet, as_json=as_json)
    console = output.stdout
    checks = run_checks(out_dir=out, nlp=nlp, classifier=classifier, trust_classifier=trust_classifier,
                        trust_nlp=trust_nlp)
    counts = {status: sum(c.status == status for c in checks) for status in STYLES}
    exit_code = 1 if failed(checks) else 0
    output.emit_json({"ok": not exit_code, "exit_code": exit_code, "counts": counts,
                      "checks": [{"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
                                 for c in checks]})
    if quiet:  # only what failed, on stderr
        for check in checks:
            if check.status == "fail":
                output.error(f"tiltak: doctor: {check.name}: {check.detail}" + (f"; fix: {check.fix}" if check.fix
                                                                                 else ""))
    table = Table(title="tiltak doctor", show_lines=False)
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        style = STYLES[check.status]
        table.add_row(escape(check.name), f"[{style}]{check.status}[/{style}]", escape(check.detail), escape(check.fix))
    console.print(table)
    console.print(f"{counts['ok']} ok, {counts['warn']} warnings, {counts['fail']} failed", highlight=False)
    if exit_code:
        raise typer.Exit(exit_code)


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)

"""``tiltak export`` and ``tiltak browse``: datasets across an output folder, and Datasette on them.

``register(app)`` adds both commands to the ``tiltak`` Typer app (``pipeline.cli.main``); the shared console and
``fail`` come from ``pipeline.cli.console``.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.console import JsonOption, QuietOption

DEFAULT_OUTPUTS = Path("outputs")
DATASETS_SUBDIR = "datasets"


def export(
    outputs_dir: Annotated[Path, typer.Argument(help="Output folder of `tiltak run` (document JSONs).")] = (
        DEFAULT_OUTPUTS),
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Where the datasets go "
                                             "(default OUTPUTS_DIR/datasets).")] = None,
    report: Annotated[bool, typer.Option("--report/--no-report", help="Also write the HTML report (report.html) "
                                         "beside the datasets, where each measure's report_url points.")] = True,
    lang: Annotated[str, typer.Option("--lang", help="The report's language: nb or en.")] = "nb",
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Measures, amounts, deadlines, actors and focus areas of all documents as JSONL, CSV, Parquet and a SQLite
    database with Norwegian full-text search; and the HTML report the rows link to."""
    from rich.table import Table

    import pipeline.cli.console as output

    output.configure("export", quiet=quiet, as_json=as_json)

    from pipeline.cli.console import EXIT_DOCUMENTS_FAILED, console, errors, fail
    from pipeline.errors import TiltakError
    from pipeline.research.export import REPORT_FILE, collect, write_exports
    from pipeline.research.report import LANGUAGES, load_documents, write_report

    if lang not in LANGUAGES:
        raise fail(f"--lang {lang}: use one of {', '.join(LANGUAGES)}")
    out_dir = out if out is not None else outputs_dir / DATASETS_SUBDIR
    try:
        tables = collect(outputs_dir)
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    for skipped in tables.skipped:
        errors.print(f"skipped: {outputs_dir / skipped.name}: {skipped.reason}", markup=False, highlight=False,
                     soft_wrap=True)
    if not tables.rows["documents"]:
        raise fail(f"{outputs_dir}: no tiltak document JSONs to export (run `tiltak run` first)")
    try:
        written = write_exports(tables, out_dir)
        if report:
            # The documents the tables hold, read again (one at a time above, to keep memory flat while collecting).
            documents, _ = load_documents(tables.files)
            written.append(write_report(out_dir / REPORT_FILE, documents, lang=lang))
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"{out_dir}: cannot write: {exc.strerror or exc}") from exc

    exit_code = EXIT_DOCUMENTS_FAILED if tables.skipped else 0
    output.emit_json({"ok": not exit_code, "exit_code": exit_code, "out": str(out_dir),
                      "outputs": [str(path) for path in written], "counts": tables.counts(),
                      "skipped": [{"file": str(outputs_dir / s.name), "reason": s.reason} for s in tables.skipped]})
    table = Table(title=f"Datasets in {out_dir}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, count in tables.counts().items():
        table.add_row(name, str(count))
    console.print(table)
    for path in written:
        console.print(f"wrote {path}", markup=False, highlight=False)
    console.print(f"browse: tiltak browse {out_dir}", markup=False, highlight=False)
    if exit_code:
        raise typer.Exit(exit_code)


def _port_free(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return True  # let the server report an unknown host
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError:
            return False
    return True


def browse(
    datasets_dir: Annotated[Path, typer.Argument(help="Folder written by `tiltak export`.")] = (
        DEFAULT_OUTPUTS / DATASETS_SUBDIR),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8001,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
) -> None:
    """Explore the exported database in the browser with Datasette: facets, full-text search, SQL."""
    import asyncio

    import uvicorn

    from pipeline.cli.console import console, fail
    from pipeline.research.export import DB_FILE, DB_NAME, make_datasette

    if not (datasets_dir / DB_FILE).is_file():
        raise fail(f"{datasets_dir / DB_FILE}: no such database; run `tiltak export` first")
    if not _port_free(host, port):
        raise fail(f"{host}:{port} is already in use; pass another --port")
    ds = make_datasette(datasets_dir)
    asyncio.run(ds.invoke_startup())
    console.print(f"Datasette on http://{host}:{port}/{DB_NAME}/measures  (Ctrl+C to stop)", highlight=False)
    uvicorn.run(ds.app(), host=host, port=port, log_level="warning", lifespan="on")


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("browse")(browse)

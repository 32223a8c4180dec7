"""``tiltak compare A.json B.json [C.json …] [--out FILE]``: which measures continued, changed, are new or dropped.

Wired into the ``tiltak`` app by ``register(app)`` (``pipeline.cli.main``); ``fail`` and ``console`` come from
``pipeline.cli.console``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli.console import JsonOption, QuietOption

TOP_CHANGES = 8


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _pct(value: float) -> str:
    return f"{100 * value:+.0f} pp" if value else "±0 pp"


def print_summary(comparison: dict, console) -> None:
    """A readable summary: per pair the counts, the top changes, focus-area and strength shifts, actors."""
    from rich.markup import escape
    from rich.table import Table

    documents = comparison["documents"]
    counts = Table(title="Measures, each document against the next", expand=False)
    for column in ("from", "to", "continued", "modified", "new", "dropped"):
        counts.add_column(column, justify="left" if column in ("from", "to") else "right")
    for pair in comparison["pairs"]:
        c = pair["counts"]
        counts.add_row(pair["a_id"], pair["b_id"], str(c["continued"]), str(c["modified"]), str(c["new"]),
                       str(c["dropped"]))
    console.print(counts)
    for pair in comparison["pairs"]:
        a, b = documents[pair["a"]], documents[pair["b"]]
        console.print(f"\n[bold]{escape(a['id'])} → {escape(b['id'])}[/bold] ({a['measure_count']} → "
                      f"{b['measure_count']} measures)", highlight=False)
        # Top changes: strength shifts first, then the most reworded pairs.
        modified = sorted((p for p in pair["aligned"] if p["status"] == "modified"),
                          key=lambda p: ("strength" not in p["changed"], p["similarity"]))
        for item in modified[:TOP_CHANGES]:
            detail = ", ".join(item["changed"]) or "—"
            if "strength" in item["changed"]:
                detail += f" ({item['a_strength']} → {item['b_strength']})"
            console.print(f"  modified {item['a_id']}→{item['b_id']} [{item['similarity']:.2f}] {detail}: "
                          f"{_short(item['b_text'])}", markup=False, highlight=False)
        for label, items in (("new", pair["new"]), ("dropped", pair["dropped"])):
            for item in items[:TOP_CHANGES]:
                console.print(f"  {label:8s} {item['id']}: {_short(item['text'])}", markup=False, highlight=False)
            if len(items) > TOP_CHANGES:
                console.print(f"  … and {len(items) - TOP_CHANGES} more {label}", highlight=False)
        shifts = [d for d in pair["focus_area_deltas"] if d["delta"]][:5]
        if shifts:
            console.print("  focus areas: " + ", ".join(f"{d['label']} {_pct(d['delta'])}" for d in shifts),
                          highlight=False)
        strength = pair["strength_deltas"]
        console.print("  strength: " + ", ".join(f"{key} {_pct(strength[key])}"
                                                 for key in ("binding", "intention", "exploratory")),
                      highlight=False)
        if pair["actors_gained"] or pair["actors_lost"]:
            console.print(f"  actors gained: {', '.join(pair['actors_gained']) or '—'}; "
                          f"lost: {', '.join(pair['actors_lost']) or '—'}", markup=False, highlight=False)
    if len(documents) > 2:  # measure histories across all the documents
        through = [h for h in comparison.get("histories", []) if len(h["steps"]) == len(documents)]
        console.print(f"\n{len(through)} measures run through all {len(documents)} documents", highlight=False)
        for history in through[:TOP_CHANGES]:
            chain = " → ".join(f"{step['measure_id']} ({step['strength'] or '–'})" for step in history["steps"])
            console.print(f"  {chain}: {_short(history['steps'][-1]['text'])}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    """Add the ``compare`` command to the ``tiltak`` app."""

    @app.command()
    def compare(
        files: Annotated[list[Path], typer.Argument(help="Document JSONs written by `tiltak run`, oldest first.")],
        out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the comparison JSON here.")] = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
        quiet: QuietOption = False,
        as_json: JsonOption = False,
    ) -> None:
        """Compare documents, each with the next: measures continued, modified, new and dropped; focus-area,
        strength and actor changes."""
        import pipeline.cli.console as output
        from pipeline.cli.console import console, fail
        from pipeline.errors import TiltakError
        from pipeline.research.compare import load_result

        output.configure("compare", quiet=quiet, as_json=as_json)

        if len(files) < 2:
            raise fail("compare needs at least two document JSONs")
        for file in files:  # refuse a missing or foreign file before Prefect starts
            try:
                load_result(file)
            except TiltakError as exc:
                raise fail(str(exc)) from exc
        if out is not None and out.is_dir():
            raise fail(f"{out}: is a folder; --out names the comparison JSON file")
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "CRITICAL")
        from pipeline.ops.prefect_server import prefect_api

        try:
            with prefect_api(announce=output.note) as api:
                from flows import compare_flow

                comparison = compare_flow(paths=[str(f) for f in files], out=str(out) if out else None)
        except (TiltakError, OSError) as exc:
            raise fail(f"{out}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)) from exc
        output.emit_json({"ok": True, "exit_code": 0, "outputs": [str(out)] if out is not None else [],
                          "dashboard_url": api.dashboard_url,
                          "pairs": [summary_of(pair) for pair in comparison["pairs"]],
                          "comparison": None if out is not None else comparison})
        print_summary(comparison, console)
        if out is not None:
            console.print(f"\nwrote {out}", markup=False, highlight=False)


def summary_of(pair: dict) -> dict:
    """One pair of documents in ``compare --json``: which, and how many measures continued, changed, are new or
    dropped."""
    return {"from": pair["a_id"], "to": pair["b_id"], "counts": pair["counts"],
            "actors_gained": pair["actors_gained"], "actors_lost": pair["actors_lost"]}

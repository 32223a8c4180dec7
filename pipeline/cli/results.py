"""``tiltak show``, ``tiltak validate`` and ``tiltak schema``: reading and checking outputs, writing the schemas."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

import pipeline.cli.console as output
from pipeline.cli.console import EXIT_DOCUMENTS_FAILED, JsonOption, QuietOption, console, fail
from pipeline.cli.group import app


@app.command()
def show(file: Annotated[Path, typer.Argument(
        help="A document JSON written by `tiltak run` (a folder: a list of its documents).")],
         quiet: QuietOption = False, as_json: JsonOption = False) -> None:
    """A readable summary of one output file, or a list of the documents in an output folder (with --json: the
    document's facts, counts and measures)."""
    output.configure("show", quiet=quiet, as_json=as_json)
    from pipeline.schema import DocumentResult

    if file.is_dir():
        _list_documents(file)
        return
    try:
        result = DocumentResult.model_validate_json(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise fail(f"{file}: no such file") from exc
    except OSError as exc:
        raise fail(f"{file}: cannot read: {(exc.strerror or str(exc)).lower()}") from exc
    except UnicodeDecodeError as exc:
        raise fail(f"{file}: not a tiltak document JSON: not UTF-8 text") from exc
    except ValueError as exc:
        raise fail(f"{file}: not a tiltak document JSON: {str(exc).splitlines()[0]}") from exc
    doc, prov = result.document, result.provenance
    output.emit_json({
        "ok": True, "exit_code": 0, "file": str(file), "title": doc.title, "file_name": doc.file_name,
        "format": doc.format, "document_type": doc.document_type, "language": doc.language,
        "pages": doc.page_count, "chars": doc.char_count, "sha256": doc.sha256, "blocks": len(result.blocks),
        "measures_count": len(result.measures), "actors_count": len(result.actors), "warnings": list(doc.warnings),
        "identifier": doc.identifier, "date": doc.date, "year": doc.year, "issuer": doc.issuer,
        "nlp_model": prov.nlp_model.model_dump(mode="json"), "tool_version": prov.tool_version,
        "measures": [{"id": m.id, "page": m.page, "strength": m.strength, "focus_area": m.focus_area, "text": m.text}
                     for m in result.measures],
    })
    console.print(doc.title or doc.file_name, style="bold", markup=False, highlight=False)
    if cited := " · ".join(str(part) for part in (doc.identifier, doc.date or doc.year, doc.issuer) if part):
        console.print(cited, markup=False, highlight=False)
    console.print(
        f"{doc.file_name} · {doc.format} · {doc.document_type} · language {doc.language} · "
        f"{doc.page_count or 'no'} pages · {doc.char_count} chars · sha256 {doc.sha256[:12]}",
        highlight=False,
    )
    console.print(
        f"{len(result.blocks)} blocks · {len(result.measures)} measures · {len(result.actors)} actors · "
        f"model {prov.nlp_model.name} {prov.nlp_model.version} ({prov.nlp_model.kind}) · tiltak {prov.tool_version}",
        highlight=False,
    )
    for warning in doc.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if result.measures:
        table = Table(show_lines=False, expand=console.is_terminal)
        for column, style in (("#", "dim"), ("page", ""), ("strength", ""), ("focus area", ""), ("measure", "")):
            table.add_column(column, style=style, overflow="fold")
        for measure in result.measures:
            table.add_row(
                measure.id, str(measure.page or "–"), measure.strength or "–", escape(measure.focus_area or "–"),
                escape(measure.text if len(measure.text) <= 200 else measure.text[:197] + "…"),
            )
        console.print(table)


def _list_documents(folder: Path) -> None:
    """``show FOLDER``: one line per document JSON in the folder (title, measures, file); fails when there is none."""
    from pipeline.store.validate import is_tiltak_output

    listed: list[dict] = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if not is_tiltak_output(data) or "document" not in data:
            continue
        document = data["document"]
        listed.append({"file": str(path), "title": document.get("title") or document.get("file_name"),
                       "measures_count": len(data.get("measures", []))})
        console.print(f"{path.name}  {listed[-1]['measures_count']} measures  {listed[-1]['title']}",
                      markup=False, highlight=False)
    if not listed:
        raise fail(f"{folder}: a folder with no tiltak document JSON; give one document JSON written by `tiltak run`")
    output.emit_json({"ok": True, "exit_code": 0, "folder": str(folder), "documents": listed})
    console.print(f"{len(listed)} documents; `tiltak show {folder / 'NAME.json'}` shows one", markup=False,
                  highlight=False)


@app.command()
def validate(paths: Annotated[list[Path], typer.Argument(help="Output JSON files or folders.")]) -> None:
    """Check document JSONs (and run manifests) against the published schema and their own offsets."""
    from pipeline.research.published_schemas import validate_file
    from pipeline.store.validate import skip_reason

    files: list[Path] = []
    for path in paths:
        if not path.exists():
            raise fail(f"{path}: no such file or folder")
        if not path.is_dir():
            files.append(path)
            continue
        for found in sorted(path.rglob("*.json")):  # in a folder: the outputs, not the export's or ingest's JSON
            if reason := skip_reason(found):
                console.print(f"[dim]skipped[/dim] {found}: {reason}", highlight=False)
            else:
                files.append(found)
    if not files:
        raise fail("no JSON files to validate")
    invalid = 0
    for file in files:
        problems = validate_file(file)
        if problems:
            invalid += 1
            console.print(f"[red]invalid[/red] {escape(str(file))}", highlight=False)
            for problem in problems[:10]:
                console.print(f"  {problem}", markup=False, highlight=False)
        else:
            console.print(f"[green]valid[/green]   {escape(str(file))}", highlight=False)
    console.print(f"{len(files) - invalid} valid, {invalid} invalid")
    if invalid:
        raise typer.Exit(EXIT_DOCUMENTS_FAILED)


@app.command()
def schema(
    write: Annotated[bool, typer.Option("--write", help="Regenerate the committed schema files.")] = False,
) -> None:
    """Print the document JSON Schema, or regenerate the published schema files from the models."""
    from pipeline.research.published_schemas import generated_schemas
    from pipeline.store.validate import SCHEMAS_DIR, render_schema

    schemas = generated_schemas()
    if not write:
        name = next(iter(schemas))
        console.print_json(json.dumps(schemas[name]))
        return
    from pipeline.io import atomic_write_text

    for name, content in schemas.items():
        atomic_write_text(SCHEMAS_DIR / name, render_schema(content))
        console.print(f"wrote {SCHEMAS_DIR / name}")

"""The ``tiltak`` command line.

Exit codes: 0 everything worked; 1 some documents failed (the rest were written; see the run manifest) or
some files are invalid; 2 the command cannot start (a missing path, an unsupported file, a model that is
not installed); 130 / 143 `tiltak run` was interrupted by SIGINT (Ctrl-C) / SIGTERM (what finished is written, the
manifest says interrupted; the same command finishes the rest).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from typer._click.exceptions import UsageError  # typer carries its own Click
from typer.core import TyperGroup

from pipeline import __version__
from pipeline import console as output
from pipeline.console import JsonOption, QuietOption
from pipeline.errors import TiltakError


class _Commands(TyperGroup):
    """The ``tiltak`` command group: with ``--json``, a command line that does not parse (an unknown option, a
    missing argument) still gives one JSON object on stdout, beside Click's message on stderr."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except UsageError as exc:
            if "--json" in sys.argv[1:]:
                command = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), None)
                output.configure(command or "tiltak", as_json=True)
                output.failed_json(exc.format_message(), exc.exit_code)
            raise


app = typer.Typer(
    cls=_Commands,
    name="tiltak",
    help="Read Norwegian policy documents and turn their measures, actors and commitments into data.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
console = output.stdout  # results; not wrapped, no markup when stdout is not a terminal (pipeline.console)
errors = output.stderr  # errors and notes

EXIT_DOCUMENTS_FAILED = 1
EXIT_CANNOT_START = 2


def fail(message: str, code: int = EXIT_CANNOT_START) -> typer.Exit:
    from pipeline.io import display_path

    # display_path: a file name that is not UTF-8 is shown with U+FFFD, never a crash of the error message itself.
    text = display_path(message)
    output.error(f"tiltak: error: {text}")
    output.failed_json(text, code)  # with --json: stdout still carries one JSON object
    return typer.Exit(code)


def use_prefect_api(ctx: typer.Context, port: int | None = None):
    """The Prefect API this command's flow runs go to (``pipeline.ops.prefect_server.prefect_api``), held until the
    command ends. Called after the command's own checks and before Prefect is imported (it reads PREFECT_API_URL at
    import)."""
    from pipeline.ops.prefect_server import ServerError, prefect_api

    try:
        return ctx.with_resource(prefect_api(port=port, announce=output.note))
    except ServerError as exc:
        raise fail(str(exc)) from exc


def _version(value: bool) -> None:
    if value:
        console.print(f"tiltak {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """tiltak: Norwegian policy documents in, structured measures out."""
    output.quiet_prefect()


def _plain_help_labels() -> None:
    """Typer's help shows a value type after every option, ``<bool>`` even for a flag, and required arguments as
    ``{paths}`` in the usage line. Shown instead: nothing for a flag, the value in capitals (PATH, TEXT, NUMBER) for
    an option that takes one, and arguments as PATHS / [PATH]."""
    from typer.core import TyperArgument, TyperOption

    names = {"path": "PATH", "str": "TEXT", "int": "INTEGER", "float": "NUMBER", "bool": None}

    def value_label(param, ctx) -> str | None:
        if getattr(param, "is_flag", False) or getattr(param, "count", False):
            return None
        if param.metavar is not None:
            return param.metavar
        label = param.display_type(ctx).strip("<>")
        label = label.removeprefix("list[").removesuffix("]").removesuffix(" range").lower()
        return names.get(label, label.upper())

    def usage_name(param) -> str:
        name = param.metavar or param.name.upper()
        name = name if param.required else f"[{name}]"
        return name + ("..." if param.nargs != 1 else "")

    TyperOption.display_type_rich = value_label
    TyperArgument.display_type_rich = lambda param, ctx: None  # the name column already says it
    TyperArgument._usage_display_name = usage_name
    TyperArgument.display_name_raw = property(lambda param: param.metavar or param.name.upper())


_plain_help_labels()


# Enough of a file to tell its format (pipeline.reading.loaders.sniff_format looks at the first 64 KiB).
SNIFF_BYTES = 1 << 16
ZIP_MAGIC = b"PK\x03\x04"


def _read_head(path: Path) -> bytes:
    """The first bytes of a regular file (all of a zip, whose table of contents is at its end). Opened without
    blocking, and refused unless it is still a regular file once open: a FIFO swapped in is never waited on."""
    import stat

    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        head = handle.read(SNIFF_BYTES)
        return head + handle.read() if head.startswith(ZIP_MAGIC) else head


def _check_named_files(paths: list[Path]) -> None:
    """Refuse at once a named path that is missing, a FIFO, socket or device, a broken link or a link loop, or a
    file that is not a document tiltak reads (from its first bytes: a large PDF is not read twice)."""
    from pipeline.reading.batch import named_path_problem
    from pipeline.reading.loaders import sniff_format

    for path in paths:
        if problem := named_path_problem(path):
            raise fail(f"{path}: {problem}")
        if path.is_file():
            try:
                sniff_format(_read_head(path), path)
            except TiltakError as exc:
                raise fail(str(exc)) from exc
            except OSError as exc:
                raise fail(f"{path}: cannot read: {(exc.strerror or str(exc)).lower()}") from exc


def _check_output_folder(out: Path, settings: dict[str, Path | None]) -> None:
    """Refuse at once an --out that is a file, lies under a file or cannot be written in, and option paths that
    are not valid UTF-8 (they are stored in the manifest's settings, which JSON cannot hold them in)."""
    from pipeline.io import output_folder_problem
    from pipeline.reading.batch import is_valid_utf8

    for option, value in {"--out": out, **settings}.items():
        if value is not None and not is_valid_utf8(value):
            raise fail(f"{value}: the {option} path is not valid UTF-8; rename it (input documents may have such "
                       "names, option paths may not)")
    if problem := output_folder_problem(out):
        raise fail(f"{out}: {problem}")


@app.command()
def run(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Documents or folders (PDF, HTML, DOCX, TXT, MD).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("outputs"),
    nlp: Annotated[str, typer.Option(help="spaCy pipeline: best, a package name, a directory, or blank.")] = "best",
    config: Annotated[Path | None, typer.Option(help="TOML settings file.")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Focus-area taxonomy YAML (validated).")] = None,
    classifier: Annotated[Path | None, typer.Option(help="Focus-area classifier folder (card.json, artifact).")] = None,
    trust_classifier: Annotated[bool, typer.Option(
        "--trust-classifier", help="Load a classifier that is neither the shipped one nor trained here (its types "
        "are checked all the same).")] = False,
    trust_nlp: Annotated[bool, typer.Option(
        "--trust-nlp", help="Load an --nlp folder whose config names code from outside spaCy and tiltak.")] = False,
    pdf_backend: Annotated[str | None, typer.Option(
        "--pdf-backend", help="pdfplumber (default: layout, headings) or pypdfium2 (plain text, much faster).")] = None,
    ocr: Annotated[bool, typer.Option(
        "--ocr", help="Read PDF pages without a text layer (scans) by OCR: Tesseract, Norwegian (the ocr extra and "
        "apt-get install tesseract-ocr tesseract-ocr-nor; see tiltak doctor).")] = False,
    measure_detector: Annotated[str | None, typer.Option(
        "--measure-detector", help="Who decides which candidates are measures: rules (the hand-written rules), "
        "model (the trained detector in models/measures, the rules among its features) or hybrid (the rules' "
        "measures kept, the detector adds those it is confident of).")] = None,
    min_confidence: Annotated[float | None, typer.Option(
        "--min-confidence", min=0.0, max=1.0, help="With the model detector: keep measures of at least this "
        "confidence (default: the threshold chosen in cross-validation, in models/measures/card.json).")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="Ignore cached analyses and redo them.")] = False,
    wait_lock: Annotated[float | None, typer.Option(
        "--wait-lock", help="Seconds to wait while another run writes to OUT (default 600).")] = None,
    follow_symlinks: Annotated[bool, typer.Option(
        "--follow-symlinks", help="Follow symbolic links found in input folders whose target stays inside the "
        "folder (by default such links are skipped; links named on the command line are read).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's logs.")] = False,
    runner: Annotated[str, typer.Option(
        help="Where documents are analysed: default (worker processes of this run, limits enforced) or dask "
             "(Dask worker processes; needs the dask extra).")] = "default",
    dask_address: Annotated[str | None, typer.Option(
        "--dask-address", help="With --runner dask: an existing Dask cluster's scheduler (tcp://HOST:8786).")] = None,
    workers: Annotated[int | None, typer.Option(
        help="With --runner dask: start a local Dask cluster of this many worker processes (default: one per core).",
        min=1)] = None,
    quiet: QuietOption = False,
    as_json: JsonOption = False,
) -> None:
    """Process documents into one schema-valid JSON each, plus a run manifest in OUT/runs/."""
    output.configure("run", quiet=quiet, as_json=as_json)
    if runner not in ("default", "dask"):
        raise fail(f"--runner must be default or dask, not {runner!r}")
    if pdf_backend not in (None, "pdfplumber", "pypdfium2"):
        raise fail(f"--pdf-backend must be pdfplumber or pypdfium2, not {pdf_backend!r}")
    if measure_detector not in (None, "rules", "model", "hybrid"):
        raise fail(f"--measure-detector must be rules, model or hybrid, not {measure_detector!r}")
    if runner != "dask" and (dask_address or workers):
        raise fail("--dask-address and --workers need --runner dask")
    if dask_address and workers:
        raise fail("--dask-address and --workers cannot be used together (an existing cluster has its own workers)")
    _check_named_files(paths)
    _check_output_folder(out, {"--config": config, "--taxonomy": taxonomy, "--classifier": classifier})
    if config is not None and not config.is_file():
        raise fail(f"{config}: no such config file")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO" if verbose else "CRITICAL")
    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "info" if verbose else "error")  # read by Dask's workers too

    from pipeline.reading.batch import InputError, discover, display_path

    try:
        found = discover(paths, exclude=out, follow_symlinks=follow_symlinks)
    except InputError as exc:  # a path removed since it was checked above
        raise fail(str(exc)) from exc
    for skipped in found.skipped:  # also listed in the run manifest
        output.note(f"skipped: {display_path(skipped.path)}: {skipped.reason}")
    documents = found.files
    if not documents:
        raise fail(f"no documents found in {', '.join(map(str, paths))} (looked for .pdf .html .docx .txt .md)")

    overrides = {"taxonomy": str(taxonomy) if taxonomy else None, "classifier": str(classifier) if classifier else None,
                 "pdf_backend": pdf_backend, "ocr": ocr or None, "trust_classifier": trust_classifier or None,
                 "trust_nlp": trust_nlp or None, "measure_detector": measure_detector,
                 # as text: the flow's overrides are strings and flags (PipelineConfig reads the number back)
                 "min_confidence": None if min_confidence is None else repr(min_confidence)}
    try:  # a bad or untrusted taxonomy, classifier or NLP folder is refused before Prefect starts
        settings = checked_run_settings(config, nlp, overrides)
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    if settings.ocr:
        from pipeline.reading.loaders.ocr import availability

        if problem := availability().problem:  # the scanned pages will carry the same warning; the run goes on
            output.note(f"warning: --ocr: {problem}")

    if runner == "default":  # the models load in the analysis workers' fork server while Prefect gets ready
        from pipeline.analysis.process import prestart_analysis_workers

        prestart_analysis_workers(settings)
    # Everything above is checked before any Prefect server is contacted or started.
    progress = output.RunProgress(len(documents))
    with progress:
        progress.stage("connecting to Prefect")
        server = use_prefect_api(ctx)
        progress.stage("starting the flow run")
        manifest = _run_flow(progress, paths, out, nlp, follow_symlinks, config, refresh, overrides, wait_lock, runner,
                             dask_address, workers, len(documents))
    _report_run(manifest, out, server)


def checked_run_settings(config: Path | None, nlp: str, overrides: dict, *, table: str = ""):
    """The settings of a run (``PipelineConfig``, the one list of what a run can be told, shared by ``run`` and
    ``serve``): a TOML file's, with ``overrides`` (the command line's, None for not given) over them, checked before
    any Prefect server is contacted. A bad value or unknown key, or a missing, broken or untrusted taxonomy,
    classifier, NLP model or measure detector raises a TiltakError naming the file and the key. ``table``: the
    TOML table the settings are read from, for the message (``[tiltak]`` in a serve file)."""
    import tomllib

    from pydantic import ValidationError

    from pipeline.analysis.classify import check_classifier
    from pipeline.analysis.nlp import check_nlp_source
    from pipeline.config import PipelineConfig

    try:
        settings = (PipelineConfig.from_toml(config, nlp=nlp, **overrides) if config
                    else PipelineConfig(nlp=nlp, **{k: v for k, v in overrides.items() if v is not None}))
    except ValidationError as exc:
        known = ", ".join(sorted(PipelineConfig.model_fields))
        problems = "; ".join(
            f"{table}{'.'.join(map(str, e['loc']))}: "
            + (f"unknown setting (known: {known})" if e["type"] == "extra_forbidden" else e["msg"])
            for e in exc.errors())
        raise TiltakError(f"{config or 'settings'}: {problems}") from exc

    def checked(keys: tuple[str, ...], check, *args, **kwargs) -> None:
        try:
            check(*args, **kwargs)
        except TiltakError as exc:
            key = next((key for key in keys if key in set_in_file), None)
            if key is None:
                raise
            # set in a serve file's [tiltak] table: say which file and key
            raise TiltakError(f"{config}: {table}{key}: {exc}") from exc

    set_in_file = set()
    if config is not None and table:
        set_in_file = set(tomllib.loads(config.read_text(encoding="utf-8")).get("tiltak", {}))
    checked(("nlp", "trust_nlp"), check_nlp_source, settings.nlp, trusted=settings.trust_nlp)
    checked(("classifier", "taxonomy", "trust_classifier"), check_classifier, settings.classifier, settings.taxonomy,
            trusted=settings.trust_classifier)
    if settings.measure_detector != "rules":
        from extractors.detector import load_detector

        checked(("measure_model", "measure_detector"), load_detector, settings.measure_model)
    return settings


def flow_overrides(settings, keys) -> dict[str, str | bool]:
    """``keys`` of ``settings`` as the flows' ``overrides`` parameter: flags stay flags, everything else is text
    (PipelineConfig reads numbers and paths back)."""
    values = {}
    for key in keys:
        value = getattr(settings, key)
        if value is not None:
            values[key] = value if isinstance(value, bool) else repr(value) if isinstance(value, float) else str(value)
    return values


def _run_flow(progress, paths, out, nlp, follow_symlinks, config, refresh, overrides, wait_lock, runner, dask_address,
              workers, total: int) -> dict:
    """The ``process-corpus`` flow run of ``tiltak run``, its stages and documents told to ``progress``."""
    from flows import dask_runner, process_corpus, progress_listener, stage_listener
    from pipeline.reading.batch import path_param
    from pipeline.runtime.workers import RunInterrupted, interruptible
    from pipeline.store.outputs import new_run_id

    flow = process_corpus
    if runner == "dask":
        try:
            flow = process_corpus.with_options(task_runner=dask_runner(address=dask_address, workers=workers))
        except TiltakError as exc:
            raise fail(str(exc)) from exc

    run_id = new_run_id()  # named here so the Prefect flow run carries it
    try:
        # SIGINT / SIGTERM: the run stops its workers, writes what finished and raises RunInterrupted; a second
        # signal kills every process the run started and exits at once.
        with interruptible():

            def advance(record) -> None:
                progress.document_done(Path(record.source).name)

            with progress_listener(advance), stage_listener(progress.stage):
                try:
                    manifest = flow(  # the paths named, in a JSON-safe form; the flow finds the same documents
                        paths=[path_param(p) for p in paths], out_dir=str(out), nlp=nlp,
                        follow_symlinks=follow_symlinks, config_file=str(config) if config else None,
                        refresh_cache=refresh, overrides=overrides, wait_lock=wait_lock, run_id=run_id,
                    )
                except TiltakError as exc:
                    raise fail(str(exc), getattr(exc, "exit_code", EXIT_CANNOT_START)) from exc
            progress.stage("done")
    except RunInterrupted as exc:
        raise _interrupted(exc, out, run_id, total) from None
    except Exception as exc:
        # A signal that landed inside Prefect's engine while it was creating a task run: Prefect's crash handling
        # then fails with an error of its own ("Task run is not set"), with the interruption as its context.
        if (signalled := _interruption_behind(exc, RunInterrupted)) is None:
            raise
        raise _interrupted(signalled, out, run_id, total) from None
    return manifest


def _report_run(manifest: dict, out: Path, server) -> None:
    """The run's summary (stdout, or one JSON object with --json), its failures (stderr) and its exit code."""
    counts = manifest["counts"]
    manifest_path = out / "runs" / f"{manifest['run_id']}.json"
    link = server.flow_run_url(manifest["flow_run_id"]) if manifest.get("flow_run_id") else None
    failures = [{"source": record["source"], "stage": record["stage"], "error": record["error"]}
                for record in manifest["documents"] if record["status"] == "failed"]
    exit_code = EXIT_DOCUMENTS_FAILED if counts["failed"] else 0
    output.emit_json({
        "ok": not failures, "exit_code": exit_code, "run_id": manifest["run_id"], "status": manifest["status"],
        "out": str(out), "manifest": str(manifest_path), "counts": counts,
        "measures": sum(record.get("measures") or 0 for record in manifest["documents"]
                        if record["status"] in ("processed", "cached")),
        "outputs": sorted({str(out / record["output"]) for record in manifest["documents"] if record.get("output")}),
        "failures": failures, "skipped": manifest.get("skipped", []), "nlp_model": manifest["nlp_model"],
        "flow_run_id": manifest.get("flow_run_id"), "flow_run_url": link,
    })
    console.print(
        f"{counts['processed']} processed, {counts['cached']} cached, {counts['duplicate']} duplicate, "
        f"{counts['failed']} failed → {out}/  (manifest: {manifest_path})", markup=False, highlight=False,
    )
    model = manifest["nlp_model"]
    console.print(f"NLP model: {model['name']} {model['version']} ({model['kind']})", highlight=False)
    if link:
        console.print(f"Prefect flow run: {link}", highlight=False, soft_wrap=True)
    for failure in failures:
        output.error(f"failed: {failure['source']}: {failure['stage']}: {failure['error']}")
    if exit_code:
        raise typer.Exit(exit_code)


def _interruption_behind(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _interrupted(exc, out: Path, run_id: str, total: int) -> typer.Exit:
    """One line: the run was interrupted, how far it got and where its manifest is; exit 128 + the signal."""
    manifest = out / "runs" / f"{run_id}.json"
    try:
        finished = len(json.loads(manifest.read_text(encoding="utf-8"))["documents"])
        where = f"{finished} of {total} documents finished; run manifest: {manifest} (status interrupted)"
    except (OSError, ValueError, KeyError):
        where = "no document finished and no run manifest was written"
    message = f"{exc}: {where}; run the same command again to finish the rest"
    output.error(f"tiltak: {message}")
    output.emit_json({"ok": False, "exit_code": exc.exit_code, "status": "interrupted", "error": message,
                      "run_id": run_id, "manifest": str(manifest) if manifest.is_file() else None})
    return typer.Exit(exc.exit_code)


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


DEFAULT_NORNE = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "norne"


@app.command("train-nlp")
def train_nlp(
    corpus: Annotated[Path, typer.Option(help="The NorNE / NDT corpus folder (read-only).")] = DEFAULT_NORNE,
    work: Annotated[Path, typer.Option(help="Where converted data and checkpoints go (never the repo).")] = (
        Path("/tmp/tiltak-train")),
    stages: Annotated[str, typer.Option(help="Comma-separated: convert,train,train-ner,finalize,evaluate,install.")] = (
        "convert,train,train-ner,finalize,evaluate,install"),
    max_minutes: Annotated[float | None, typer.Option(help="Wall-clock budget for the training stage.")] = None,
    dest: Annotated[Path | None, typer.Option(help="Install the model here (default models/nb_tiltak_core).")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Override the config's training.max_steps.")] = None,
    max_files: Annotated[int | None, typer.Option(help="Use only this many NDT files per split (smoke runs).")] = None,
) -> None:
    """Train, evaluate and install the project's Norwegian spaCy pipeline from NorNE (recipe: models/recipe/)."""
    import subprocess
    import sys

    if not (corpus / "SOURCE.md").is_file():
        raise fail(f"{corpus}: not the NorNE corpus folder (no SOURCE.md); pass --corpus")
    recipe = Path(__file__).resolve().parents[1] / "models" / "recipe" / "train.py"
    command = [sys.executable, str(recipe), str(corpus), "--work", str(work), "--stages", stages]
    if max_minutes is not None:
        command += ["--max-minutes", str(max_minutes)]
    if dest is not None:
        command += ["--dest", str(dest)]
    if max_files is not None:
        command += ["--max-files", str(max_files)]
    if max_steps is not None:
        command += ["--training.max_steps", str(max_steps),
                    "--training.eval_frequency", str(max(1, min(500, max_steps // 2)))]
    raise typer.Exit(subprocess.run(command, check=False).returncode)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


@app.command()
def evaluate(
    gold_dir: Annotated[Path, typer.Argument(help="Folder with NAME.txt and NAME.gold.json pairs.")],
    nlp: Annotated[str, typer.Option(help="spaCy pipeline (see `tiltak run --help`).")] = "best",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    details: Annotated[bool, typer.Option(help="List missed and spurious measures and actors.")] = False,
) -> None:
    """Score the pipeline against gold annotations: measures, strength, focus area, actors."""
    from pipeline.analysis.evaluation import evaluate as run_evaluation
    from pipeline.analysis.evaluation import gold_pairs
    from pipeline.analysis.process import analyse_document
    from pipeline.config import PipelineConfig

    if not gold_dir.is_dir():
        raise fail(f"{gold_dir}: no such folder")
    if not gold_pairs(gold_dir):
        raise fail(f"{gold_dir}: no NAME.txt with a NAME.gold.json beside it")
    config = PipelineConfig(nlp=nlp)
    try:
        evaluation = run_evaluation(gold_dir, lambda path: analyse_document(path, config))
        classifier = _classifier_figures(config)
    except TiltakError as exc:
        raise fail(str(exc)) from exc
    if as_json:
        print(json.dumps({**evaluation.to_json(), "classifier": classifier}, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Evaluation on {gold_dir}")
    for column in ("document", "measure P", "R", "F1", "strength acc", "focus acc", "top-2", "actor P", "R", "F1"):
        table.add_column(column, justify="left" if column == "document" else "right")
    for score in [*evaluation.documents, evaluation.overall()]:
        m, a = score.measures, score.actors
        table.add_row(score.name, _percent(m.precision), _percent(m.recall), _percent(m.f1),
                      _percent(score.strength.value), _percent(score.focus_area.value),
                      _percent(score.focus_area_top2.value), _percent(a.precision), _percent(a.recall),
                      _percent(a.f1), style="bold" if score.name == "overall" else None)
    console.print(table)
    held_out = classifier["held_out_test"]
    console.print(f"Focus-area classifier {classifier['name']} {classifier['version']}: cross-validated macro-F1 "
                  f"{classifier['cv_macro_f1']:.3f}, top-2 {classifier['cv_top2_accuracy']:.3f}"
                  + (f"; held-out real-document test ({held_out['examples']} measures): top-1 "
                     f"{held_out['top1_accuracy']:.3f}, top-2 {held_out['top2_accuracy']:.3f}" if held_out else ""),
                  highlight=False)
    if details:
        for score in evaluation.documents:
            for label, items in (("missed", score.missed), ("spurious", score.spurious),
                                 ("missed actor", score.missed_actors), ("spurious actor", score.spurious_actors)):
                for item in items:
                    console.print(f"{score.name}: {label}: {item}", markup=False, highlight=False)


def _classifier_figures(config) -> dict:
    """Card metrics of the classifier in use, and its scores on the shipped held-out test set when it classifies
    into the shipped taxonomy."""
    from models.focus_area.train import DEFAULT_TEST
    from pipeline.analysis.classify import load_classifier
    from pipeline.analysis.evaluation import classifier_figures
    from pipeline.analysis.taxonomy import DEFAULT_TAXONOMY

    classifier = load_classifier(config.classifier, config.taxonomy)
    shipped_taxonomy = Path(config.taxonomy or DEFAULT_TAXONOMY).resolve() == DEFAULT_TAXONOMY.resolve()
    return classifier_figures(config.classifier, classifier, DEFAULT_TEST if shipped_taxonomy else None)


@app.command("train-classifier")
def train_classifier(
    ctx: typer.Context,
    data: Annotated[Path | None, typer.Option(help="Labelled measures (JSONL: text, label).")] = None,
    taxonomy: Annotated[Path | None, typer.Option(help="Taxonomy YAML (default: the shipped one).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default models/focus_area).")] = None,
    version: Annotated[str, typer.Option(help="Version written into the card.")] = "1.0.0",
    test: Annotated[Path | None, typer.Option(
        help="Held-out labelled measures to score the model on (default: the shipped real-document test set, "
             "with the shipped taxonomy).")] = None,
) -> None:
    """Train the focus-area classifier (a Prefect flow): cross-validated metrics, held-out test, threshold, skops
    artifact, card."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from models.focus_area.train import DEFAULT_DATA, DEFAULT_OUT, DEFAULT_TEST

    data = data or DEFAULT_DATA
    if test is None and taxonomy is None and DEFAULT_TEST.is_file():
        test = DEFAULT_TEST
    for path in (data, taxonomy, test):
        if path is not None and not path.is_file():
            raise fail(f"{path}: no such file")
    use_prefect_api(ctx)
    from flows import train_classifier as train_flow

    try:
        card = train_flow(data=str(data), out=str(out or DEFAULT_OUT), taxonomy=str(taxonomy) if taxonomy else None,
                          version=version, test=str(test) if test else None)
    except (TiltakError, ValueError) as exc:
        raise fail(str(exc)) from exc
    metrics = card["metrics"]
    held_out = metrics.get("held_out_test")
    tested = (f", held-out test top-1 {held_out['top1_accuracy']:.3f}, top-2 {held_out['top2_accuracy']:.3f}"
              if held_out else "")
    console.print(f"{card['name']} {card['version']}: {card['training_data']['examples']} examples, "
                  f"cross-validated macro-F1 {metrics['cv_macro_f1']:.3f}, top-2 {metrics['cv_top2_accuracy']:.3f}"
                  f"{tested}, threshold {card['threshold']} → {out or DEFAULT_OUT}", highlight=False)
    from pipeline.analysis.classify import trust_list_path

    console.print(f"trusted on this machine (sha256 {card['artifact_sha256'][:12]}… recorded in {trust_list_path()}); "
                  "elsewhere it loads only with --trust-classifier", highlight=False)


@app.command("train-measures")
def train_measures(
    annotations: Annotated[Path | None, typer.Option(
        help="Folder of page annotations (default corpus/annotations/policy-pages: adjudicated/ where a page has "
        "one, else first/; texts from ../shared).",
    )] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default models/measures).")] = None,
    folds: Annotated[int, typer.Option(help="Grouped cross-validation folds (by site).", min=3)] = 5,
) -> None:
    """Train the measure detector (a Prefect flow): grouped cross-validated figures beside the rules', seeds,
    threshold, skops artifact, card."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows import train_measures as train_flow
    from models.measures.train import DEFAULT_ANNOTATIONS, HERE

    annotations = annotations or DEFAULT_ANNOTATIONS
    if not annotations.is_dir():
        raise fail(f"{annotations}: no such folder")
    try:
        card = train_flow(annotations=str(annotations), out=str(out or HERE), folds=folds)
    except (TiltakError, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    model, rules = card["evaluation"]["model"]["overall"], card["evaluation"]["rules"]["overall"]
    console.print(f"{card['name']} {card['version']}: {card['training_data']['pages']} pages, grouped cross-validated "
                  f"F1 {model['f1']:.3f} (precision {model['precision']:.3f}, recall {model['recall']:.3f}; rules "
                  f"{rules['f1']:.3f}), threshold {card['threshold']} → {out or HERE}", highlight=False)


@app.command("train-policy-area")
def train_policy_area(
    annotations: Annotated[Path | None, typer.Option(
        help="Folder of page annotations (default corpus/annotations/policy-pages: adjudicated, else first).")] = None,
    texts: Annotated[Path | None, typer.Option(
        help="Folder of the annotated pages' texts (default ../shared/corpora/policy-pages/texts).")] = None,
    out: Annotated[Path | None, typer.Option(help="Output folder (default models/policy_area).")] = None,
    folds: Annotated[int, typer.Option(help="Grouped cross-validation folds (by site).", min=2)] = 5,
) -> None:
    """Train the policy-area (CAP major topic) classifier (a Prefect flow): grouped cross-validated top-1/top-2,
    skops artifact, card."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from flows import train_policy_area as train_flow
    from models.policy_area.train import DEFAULT_ANNOTATIONS, DEFAULT_TEXTS, HERE

    annotations, texts = annotations or DEFAULT_ANNOTATIONS, texts or DEFAULT_TEXTS
    for folder in (annotations, texts):
        if not folder.is_dir():
            raise fail(f"{folder}: no such folder")
    try:
        card = train_flow(annotations=str(annotations), texts=str(texts), out=str(out or HERE), folds=folds)
    except (TiltakError, ValueError, OSError) as exc:
        raise fail(str(exc)) from exc
    overall = card["evaluation"]["cross_validation"]["overall"]
    console.print(f"{card['name']} {card['version']}: {overall['measures']} real measures, grouped cross-validated "
                  f"top-1 {overall['top1_accuracy']:.3f}, top-2 {overall['top2_accuracy']:.3f} → {out or HERE}",
                  highlight=False)


# Commands that live in their own modules (each module's register() adds its commands to this app).
from pipeline.cli_compare import register as _register_compare  # noqa: E402
from pipeline.cli_doctor import register as _register_doctor  # noqa: E402
from pipeline.cli_export import register as _register_export  # noqa: E402
from pipeline.cli_report import register as _register_report  # noqa: E402
from pipeline.cli_serve import register as _register_serve  # noqa: E402
from pipeline.cli_server import register as _register_server  # noqa: E402

_register_compare(app)
_register_export(app)
_register_report(app)
_register_serve(app)
_register_server(app)
_register_doctor(app)

"""``tiltak run``: the named files and the run's settings checked, the ``process-corpus`` flow run, the summary.

``checked_run_settings`` and ``flow_overrides`` are shared with ``tiltak serve``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

import pipeline.cli.console as output
from pipeline.cli.console import EXIT_CANNOT_START, EXIT_DOCUMENTS_FAILED, JsonOption, QuietOption, console, fail
from pipeline.cli.group import app, use_prefect_api
from pipeline.errors import TiltakError

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
        "--pdf-backend", help="pdfium (default: layout, headings), pdfplumber (the same layout reading, several "
        "times slower) or pypdfium2 (plain text without layout, much faster).")] = None,
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
    if pdf_backend not in (None, "pdfplumber", "pdfium", "pypdfium2"):
        raise fail(f"--pdf-backend must be pdfplumber, pdfium or pypdfium2, not {pdf_backend!r}")
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

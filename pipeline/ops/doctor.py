"""``tiltak doctor``: is this installation able to run? Each check says ok, warn or fail, why, and how to fix it.

A failed check means ``tiltak run`` will not work; a warning means something optional is missing or a weaker
fallback will be used (a blank NLP pipeline, no Dask, no Chromium for the report tests, no OCR for scans).
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Status = Literal["ok", "warn", "fail"]
MIN_PYTHON = (3, 11)
CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    """A check that crashes is a failed check, not a crashed doctor."""
    try:
        return check()
    except Exception as exc:
        return Check(name, "fail", f"{type(exc).__name__}: {exc}", "see the error above")


def check_python() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        return Check("python", "fail", f"Python {version} ({sys.executable})",
                     f"use Python {'.'.join(map(str, MIN_PYTHON))} or newer")
    return Check("python", "ok", f"Python {version} ({sys.executable})")


def check_nlp(nlp: str = "best", trusted: bool = False) -> Check:
    from pipeline.analysis.nlp import load_nlp
    from pipeline.errors import TiltakError

    try:
        loaded = load_nlp(nlp, trusted=trusted)
    except TiltakError as exc:
        return Check("nlp model", "fail", f"--nlp {nlp}: {exc}",
                     "install the model, use --nlp best, or --trust-nlp for a pipeline whose source you trust")
    info = loaded.info
    detail = f"--nlp {nlp} → {info.name} {info.version} ({info.kind}; {', '.join(info.components)})"
    if info.kind == "blank":
        return Check("nlp model", "warn", detail + ": no POS, lemmas, parses or entities",
                     "install nb_core_news_md (python -m spacy download nb_core_news_md) or the shipped "
                     "models/nb_tiltak_core (tiltak train-nlp)")
    return Check("nlp model", "ok", detail)


def check_shipped_model() -> Check:
    from pipeline.analysis.nlp import SHIPPED_MODEL_NAME, SHIPPED_MODELS_DIR

    meta = SHIPPED_MODELS_DIR / SHIPPED_MODEL_NAME / "meta.json"
    if not meta.is_file():
        return Check("shipped nlp model", "warn", f"{meta}: missing", "tiltak train-nlp installs it")
    import json

    from pipeline.analysis.nlp import is_shipped_model, verify_checksums
    from pipeline.errors import TiltakError

    data = json.loads(meta.read_text(encoding="utf-8"))
    what = f"{meta.parent}: {data.get('lang', 'nb')}_{data.get('name')} {data.get('version')}"
    try:
        verify_checksums(meta.parent)
    except TiltakError as exc:
        return Check("shipped nlp model", "fail", str(exc), "reinstall tiltak, or retrain it with tiltak train-nlp")
    if not is_shipped_model(meta.parent):
        return Check("shipped nlp model", "warn", f"{what}: external (its checksums.json is not the one pinned in "
                     "pipeline/analysis/nlp.py: retrained or replaced)",
                     "reinstall tiltak, or pin the retrained model's "
                     "checksums in pipeline/analysis/nlp.py (SHIPPED_NLP_CHECKSUMS)")
    return Check("shipped nlp model", "ok", f"{what}: shipped (checksums match the ones pinned in the package)")


ORIGINS = {"shipped": "shipped (sha256 pinned in the package)",
           "local": "local (trained here by tiltak train-classifier)",
           "external": "external (loaded only with --trust-classifier)"}


def check_classifier(directory: Path | None = None, trusted: bool = False) -> Check:
    from pipeline.analysis.classify import DEFAULT_CLASSIFIER, load_classifier, trust_list_path
    from pipeline.errors import TiltakError

    try:
        classifier = load_classifier(directory or DEFAULT_CLASSIFIER, trusted=trusted)
    except TiltakError as exc:
        return Check("focus-area classifier", "fail", str(exc),
                     "tiltak train-classifier, or --trust-classifier for a classifier whose source you trust")
    info = classifier.info
    detail = (f"{info.name} {info.version}: {ORIGINS[info.origin]}; sha256 {info.artifact_sha256[:12]}… matches "
              f"its card; only reviewed types; taxonomy {info.taxonomy} {info.taxonomy_version}")
    if info.origin == "local":
        detail += f"; trust list {trust_list_path()}"
    return Check("focus-area classifier", "warn" if info.origin == "external" else "ok", detail)


def check_taxonomy() -> Check:
    from pipeline.analysis.taxonomy import DEFAULT_TAXONOMY, load_taxonomy
    from pipeline.errors import TiltakError

    try:
        taxonomy = load_taxonomy(DEFAULT_TAXONOMY)
    except (TiltakError, OSError, ValueError) as exc:
        return Check("taxonomy", "fail", f"{DEFAULT_TAXONOMY}: {exc}", "restore the shipped taxonomy.yaml")
    return Check("taxonomy", "ok", f"{taxonomy.name} {taxonomy.version}: {len(taxonomy.labels)} labels, "
                 f"fallback {taxonomy.fallback}")


def prefect_home() -> Path:
    """The Prefect home a run uses: ``$PREFECT_HOME``, else the one flows.py picks (kept in step with it)."""
    if os.environ.get("PREFECT_HOME"):
        return Path(os.environ["PREFECT_HOME"]).expanduser()
    project = Path(__file__).resolve().parents[2]
    return project / ".prefect" if (project / "pyproject.toml").is_file() else Path.home() / ".tiltak" / "prefect"


def _writable(folder: Path) -> str | None:
    """None if a file can be created (and deleted) in ``folder``, else why not. Creates ``folder`` if needed."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".tiltak-doctor-"):
            pass
    except OSError as exc:
        return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
    return None


def check_prefect() -> Check:
    try:
        prefect = importlib.import_module("prefect")
    except Exception as exc:
        return Check("prefect", "fail", f"cannot import prefect: {exc}", "pip install 'prefect>=3.8,<3.9'")
    home = prefect_home()
    problem = _writable(home)
    if problem:
        return Check("prefect", "fail", f"prefect {prefect.__version__}; PREFECT_HOME {home} is not writable: "
                     f"{problem}", "set PREFECT_HOME to a writable folder")
    return Check("prefect", "ok", f"prefect {prefect.__version__}; PREFECT_HOME {home} is writable")


def check_output(out_dir: Path) -> Check:
    """Writable without creating ``out_dir``: checks the folder, or the nearest folder above it that exists."""
    existing = out_dir
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return Check("output folder", "fail", f"{out_dir}: {existing} is not a folder", "choose another --out")
    problem = _writable(existing)
    if problem:
        return Check("output folder", "fail", f"{out_dir}: not writable: {problem}", "choose another --out")
    where = "" if existing == out_dir else f" (will be created in {existing})"
    return Check("output folder", "ok", f"{out_dir} is writable{where}")


def _optional(name: str, modules: list[str], purpose: str, fix: str) -> Check:
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception:
            missing.append(module)
    if missing:
        return Check(name, "warn", f"{', '.join(missing)} not importable: {purpose} unavailable", fix)
    return Check(name, "ok", f"{', '.join(modules)} importable")


def check_chromium(path: Path = CHROMIUM) -> Check:
    if path.is_file() and os.access(path, os.X_OK):
        return Check("chromium", "ok", f"{path}")
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return Check("chromium", "warn", f"{path} missing, but {found} is on PATH (the report tests use {path})")
    return Check("chromium", "warn", f"{path}: missing: the HTML report tests are skipped",
                 "tests/install-browser.sh (or apt-get install chromium)")


def check_ocr() -> Check:
    """OCR (``tiltak run --ocr``): the Tesseract library the binding loads, and its Norwegian language data."""
    from pipeline.reading.loaders.ocr import INSTALL_BINDING, INSTALL_DATA, LANGUAGE, availability

    status = availability()
    binary = shutil.which("tesseract")
    on_path = f"; tesseract binary {binary}" if binary else ""
    if status.tesseract_version is None:
        return Check("ocr", "warn", f"{status.problem}: --ocr unavailable (scanned PDF pages get a warning)",
                     f"{INSTALL_BINDING}; {INSTALL_DATA}")
    library = f"Tesseract {status.tesseract_version} (tesserocr {status.binding_version}){on_path}"
    if not status.ready:
        return Check("ocr", "warn", f"{library}; Norwegian data ({LANGUAGE}) missing: --ocr unavailable",
                     INSTALL_DATA)
    return Check("ocr", "ok", f"{library}; Norwegian data ({LANGUAGE}) in {status.tessdata} (languages: "
                 f"{', '.join(status.languages)}): --ocr available")


def run_checks(out_dir: Path = Path("outputs"), nlp: str = "best", classifier: Path | None = None,
               trust_classifier: bool = False, trust_nlp: bool = False) -> list[Check]:
    """Every check, in the order printed."""
    checks: list[tuple[str, Callable[[], Check]]] = [
        ("python", check_python),
        ("nlp model", lambda: check_nlp(nlp, trust_nlp)),
        ("shipped nlp model", check_shipped_model),
        ("focus-area classifier", lambda: check_classifier(classifier, trust_classifier)),
        ("taxonomy", check_taxonomy),
        ("prefect", check_prefect),
        ("output folder", lambda: check_output(out_dir)),
        ("dask", lambda: _optional("dask", ["dask.distributed", "prefect_dask"], "parallel runs on a Dask cluster",
                                   "pip install 'dask[distributed]' prefect-dask")),
        ("chromium", check_chromium),
        ("datasette", lambda: _optional("datasette", ["datasette"], "tiltak browse", "pip install 'datasette<1.0'")),
        ("pyarrow", lambda: _optional("pyarrow", ["pyarrow"], "Parquet export", "pip install pyarrow")),
        ("ocr", check_ocr),
    ]
    return [_guarded(name, check) for name, check in checks]


def failed(checks: list[Check]) -> bool:
    return any(check.status == "fail" for check in checks)

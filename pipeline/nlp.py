"""Loading the Norwegian spaCy pipeline: once per process, and always saying which one ran.

Resolution of ``--nlp``:
- ``best``: an installed upstream pipeline (nb_core_news lg > md > sm), else the project's shipped model,
  else a blank Norwegian tokenizer with a rule-based sentencizer. The blank fallback is reported in every
  output's provenance (``kind: "blank"``) and as a document warning; it is never silent.
- a package name (``nb_core_news_md``): that package, or a clear error saying how to install it.
- a directory: a spaCy pipeline saved there.
- ``blank``: the tokenizer-only pipeline on purpose.

A pipeline folder is untrusted input. spaCy runs code from a folder only through the factories and registered
functions its ``config.cfg`` names, but those can be any installed package's. So before a folder is loaded, every
factory, registered function (``@architectures``, ``@tokenizers``, ``@callbacks`` …) and the language its
``[nlp]`` and ``[components]`` name must be spaCy's own (spacy, thinc, spacy-legacy) or tiltak's
(``OWN_FUNCTION_MODULES``), and no component may be sourced from another pipeline; otherwise it is refused unless
trusted (``--trust-nlp``). The shipped model's ``checksums.json`` hash is pinned here (``SHIPPED_NLP_CHECKSUMS``),
so a folder is reported as ``shipped`` only when it is that model, file for file; any other folder is
``external``. A package name loads an installed spaCy model package (one with a meta.json), which is installed
code like spaCy itself.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline import nlp_components  # also registers the tiltak_* factories before any load
from pipeline.errors import TiltakError
from pipeline.schema import NlpModelInfo

UPSTREAM_PREFERENCE = ("nb_core_news_lg", "nb_core_news_md", "nb_core_news_sm")
SHIPPED_MODELS_DIR = Path(__file__).parent.parent / "models"
SHIPPED_MODEL_NAME = "nb_tiltak_core"
# sha256 of the shipped model's checksums.json (which lists every file's sha256): pinned in the package, so a folder
# that only agrees with its own checksums is not taken for the shipped model. Retraining it (`tiltak train-nlp`)
# means updating this line; tests/test_untrusted_models.py fails until then.
SHIPPED_NLP_CHECKSUMS = "379db3c63f407baab5531165b5b5c09e38d70b677b1b08dd140a930fceab0ee0"
# Where a pipeline folder's factories and registered functions may come from without --trust-nlp: spaCy's own
# packages, and tiltak's components (module names, exact or as a package prefix with a dot).
SPACY_OWN_PACKAGES = ("spacy", "thinc", "spacy_legacy")
OWN_FUNCTION_MODULES = ("pipeline.nlp_components",)
BLANK_WARNING = (
    "nlp: no trained Norwegian spaCy pipeline is installed; ran a blank tokenizer with a rule-based "
    "sentencizer (no POS, lemmas, parses or entities)"
)


@dataclass(frozen=True)
class LoadedNlp:
    nlp: Language
    info: NlpModelInfo

    @property
    def fingerprint(self) -> str:
        return f"{self.info.kind}:{self.info.name}@{self.info.version}"


_cache: dict[str, LoadedNlp] = {}
_lock = threading.Lock()


def load_nlp(name: str = "best", trusted: bool = False) -> LoadedNlp:
    """The pipeline for ``name``, loaded on first use and shared by every document of the process. A folder whose
    config names code from outside spaCy and tiltak loads only when ``trusted`` (``--trust-nlp``)."""
    key = f"{name}\0{'trusted' if trusted else ''}"
    with _lock:
        if key not in _cache:
            _cache[key] = _resolve(name, bool(trusted))
        return _cache[key]


def parse(loaded: LoadedNlp, text: str) -> Doc:
    """Run the pipeline over a whole document, however long (spaCy refuses texts over ``max_length``)."""
    _allow_length(loaded, len(text))
    return loaded.nlp(text)


def parse_many(loaded: LoadedNlp, texts: list[str]) -> Iterator[Doc]:
    """``parse`` for several documents in one ``nlp.pipe`` call, in order."""
    _allow_length(loaded, max((len(text) for text in texts), default=0))
    return loaded.nlp.pipe(texts, batch_size=len(texts) or 1)


def _allow_length(loaded: LoadedNlp, length: int) -> None:
    if length >= loaded.nlp.max_length:
        with _lock:
            loaded.nlp.max_length = max(loaded.nlp.max_length, length + 1)


def _is_installed(package: str) -> bool:
    return importlib.util.find_spec(package) is not None


def _shipped_model_path() -> Path | None:
    path = SHIPPED_MODELS_DIR / SHIPPED_MODEL_NAME
    return path if (path / "meta.json").is_file() else None


def _resolve(name: str, trusted: bool = False) -> LoadedNlp:
    if name == "best":
        for package in UPSTREAM_PREFERENCE:
            if _is_installed(package):
                return _load_package(package)
        shipped = _shipped_model_path()
        return _load_directory(shipped, trusted) if shipped else _blank()
    if name == "blank":
        return _blank()
    path = Path(name)
    if path.is_dir():
        return _load_directory(path, trusted)
    if name == SHIPPED_MODEL_NAME and (shipped := _shipped_model_path()):
        return _load_directory(shipped, trusted)
    if _is_installed(name):
        return _load_package(name, trusted)
    raise TiltakError(
        f"spaCy pipeline '{name}' is not installed. Install it into this environment "
        f"(e.g. `python -m spacy download {name}` or `pip install {name}-<version>.whl`), "
        "or use --nlp best to take the best installed one."
    )


def _with_block_boundaries(nlp: Language) -> Language:
    """Blocks are separated by blank lines: every pipeline starts a sentence there (see nlp_components), and
    a year or decimal at the end of a sentence does not hide its full stop, and "kap." does not end one."""
    nlp_components.with_sentence_final_numbers(nlp)
    nlp_components.with_policy_abbreviations(nlp)
    if "tiltak_block_boundaries" not in nlp.pipe_names:
        for consumer in ("parser", "senter", "morphologizer", "tagger", "ner"):
            if consumer in nlp.pipe_names:
                nlp.add_pipe("tiltak_block_boundaries", before=consumer)
                break
        else:
            nlp.add_pipe("tiltak_block_boundaries", last=True)  # after a sentencizer, which would overwrite it
    return nlp


def _info(nlp: Language, kind: str) -> NlpModelInfo:
    meta = nlp.meta
    name = f"{meta.get('lang', 'nb')}_{meta.get('name', 'pipeline')}"
    return NlpModelInfo(name=name, version=str(meta.get("version", "0.0.0")), kind=kind,
                        components=list(nlp.pipe_names))


def _load_package(package: str, trusted: bool = False) -> LoadedNlp:
    if not trusted and not _is_spacy_model_package(package):
        # spacy.load imports any installed package by name and calls its load(): only model packages are meant.
        raise TiltakError(f"--nlp {package}: an installed package but not a spaCy pipeline package (no meta.json); "
                          "refusing to import it (pass --trust-nlp if it is one)")
    try:
        nlp = spacy.load(package)
    except Exception as exc:
        raise TiltakError(f"spaCy pipeline '{package}' is installed but failed to load: {exc}") from exc
    nlp = _with_block_boundaries(nlp)
    return LoadedNlp(nlp, _info(nlp, "upstream"))


CHECKSUMS_FILE = "checksums.json"


def model_checksums(path: Path) -> dict[str, str]:
    """sha256 of every file of a saved pipeline, by relative path (the checksums file itself excluded)."""
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file() and f.name != CHECKSUMS_FILE}


def verify_checksums(path: Path) -> None:
    """Refuse a pipeline whose files differ from the checksums it was shipped with (a damaged or altered copy)."""
    listed = path / CHECKSUMS_FILE
    if not listed.is_file():
        return
    expected = json.loads(listed.read_text(encoding="utf-8"))
    actual = model_checksums(path)
    changed = sorted(name for name in expected.keys() | actual.keys() if expected.get(name) != actual.get(name))
    if changed:
        raise TiltakError(f"{path}: the model's files do not match its {CHECKSUMS_FILE} ({', '.join(changed[:3])}"
                          f"{' …' if len(changed) > 3 else ''}); refusing to load it: reinstall or retrain it")


def _is_spacy_model_package(package: str) -> bool:
    if not re.fullmatch(r"[A-Za-z_][\w]*", package):
        return False
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    return any((Path(location) / "meta.json").is_file() for location in locations)


def is_shipped_model(path: Path) -> bool:
    """True when ``path`` holds the shipped model: its checksums.json is the pinned one (its files are checked
    against that list by ``verify_checksums``)."""
    listed = path / CHECKSUMS_FILE
    return listed.is_file() and hashlib.sha256(listed.read_bytes()).hexdigest() == SHIPPED_NLP_CHECKSUMS


def _defined_in(function: object) -> str:
    """The module that defines a registered function; for a function registered with ``Language.component``, the
    module of the component itself (spaCy wraps it in a closure of its own)."""
    module = getattr(function, "__module__", None) or ""
    if module == "spacy.language" and "<locals>" in getattr(function, "__qualname__", ""):
        with_component = inspect.getclosurevars(function).nonlocals.get("component_func")
        if with_component is not None:
            return _defined_in(with_component)
    return module


def _own(module: str) -> bool:
    return module.split(".")[0] in SPACY_OWN_PACKAGES or any(
        module == own or module.startswith(own + ".") for own in OWN_FUNCTION_MODULES)


def foreign_code(path: Path) -> str | None:
    """Why the pipeline folder ``path`` would run code from outside spaCy and tiltak when loaded, or None. Reads
    its config.cfg as data (sections interpolated, nothing resolved); checks the sections spaCy resolves when it
    loads a pipeline ([nlp] and [components])."""
    from spacy.util import get_lang_class, load_config, registry

    try:
        config = load_config(path / "config.cfg", interpolate=True)
    except Exception as exc:
        return f"its config.cfg cannot be read: {str(exc).splitlines()[0]}"
    lang = str(config.get("nlp", {}).get("lang", ""))
    if not re.fullmatch(r"[a-z]{2,3}", lang) or importlib.util.find_spec(f"spacy.lang.{lang}") is None:
        return f"its config.cfg names the language {lang!r}, which is not one of spaCy's"
    language = get_lang_class(lang)
    from spacy.pipeline.factories import register_factories

    register_factories()
    registry._entry_point_factories.get_all()  # what Language() does: installed plugins register their factories
    for component, block in (config.get("components") or {}).items():
        if not isinstance(block, dict):
            continue
        if "source" in block:
            return f"its component '{component}' is sourced from another pipeline ({block['source']!r})"
        factory = block.get("factory")
        if factory is None:
            continue
        internal = language.get_factory_name(str(factory))
        registered = (registry.factories.get(internal) if internal in registry.factories else
                      registry.factories.get(str(factory)) if str(factory) in registry.factories else None)
        if registered is None:
            return f"its config.cfg names the factory '{factory}', which is not registered here"
        if not _own(_defined_in(registered)):
            return (f"its config.cfg names the factory '{factory}' (from {_defined_in(registered)}), which is "
                    "neither spaCy's nor tiltak's")
    for section in ("nlp", "components"):
        for key, value in _references(config.get(section) or {}):
            try:
                function = registry.get(key[1:], str(value))
            except Exception:
                return f"its config.cfg names '{key} = {value}', which is not registered here"
            if not _own(_defined_in(function)):
                return (f"its config.cfg names '{key} = {value}' (from {_defined_in(function)}), which is neither "
                        "spaCy's nor tiltak's")
    return None


def _references(block: dict):
    """Every ``@registry = name`` reference in a config block, however deep."""
    for key, value in block.items():
        if isinstance(value, dict):
            yield from _references(value)
        elif isinstance(key, str) and key.startswith("@"):
            yield key, value


def check_nlp_source(name: str, trusted: bool = False) -> None:
    """Refuse at once, without loading anything, an ``--nlp`` folder ``load_nlp`` would refuse for what its config
    names (the command line calls this before Prefect starts)."""
    path = Path(name)
    if name not in ("best", "blank") and path.is_dir() and not trusted:
        _refuse_foreign_code(path)


def _refuse_foreign_code(path: Path) -> None:
    if reason := foreign_code(path):
        raise TiltakError(f"{path}: refused: {reason}; loading it could run code: pass --trust-nlp (or "
                          "trust_nlp = true in the config) only if you trust where this pipeline comes from")


def _load_directory(path: Path, trusted: bool = False) -> LoadedNlp:
    verify_checksums(path)
    kind = "shipped" if is_shipped_model(path) else "external"
    if not trusted:
        _refuse_foreign_code(path)
    try:
        nlp = spacy.load(path)
    except Exception as exc:
        raise TiltakError(f"{path}: not a loadable spaCy pipeline: {exc}") from exc
    nlp = _with_block_boundaries(nlp)
    return LoadedNlp(nlp, _info(nlp, kind))


def _blank() -> LoadedNlp:
    nlp = spacy.blank("nb")
    nlp.add_pipe("sentencizer")
    _with_block_boundaries(nlp)
    info = NlpModelInfo(name="blank_nb", version=spacy.__version__, kind="blank", components=list(nlp.pipe_names))
    return LoadedNlp(nlp, info)

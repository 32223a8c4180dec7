"""Loading the Norwegian spaCy pipeline: once per process, and always saying which one ran.

Resolution of ``--nlp``:
- ``best``: an installed upstream pipeline (nb_core_news lg > md > sm), else the project's shipped model,
  else a blank Norwegian tokenizer with a rule-based sentencizer. The blank fallback is reported in every
  output's provenance (``kind: "blank"``) and as a document warning; it is never silent.
- a package name (``nb_core_news_md``): that package, or a clear error saying how to install it.
- a directory: a spaCy pipeline saved there.
- ``blank``: the tokenizer-only pipeline on purpose.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
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


def load_nlp(name: str = "best") -> LoadedNlp:
    """The pipeline for ``name``, loaded on first use and shared by every document of the process."""
    with _lock:
        if name not in _cache:
            _cache[name] = _resolve(name)
        return _cache[name]


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


def _resolve(name: str) -> LoadedNlp:
    if name == "best":
        for package in UPSTREAM_PREFERENCE:
            if _is_installed(package):
                return _load_package(package)
        shipped = _shipped_model_path()
        return _load_directory(shipped, kind="shipped") if shipped else _blank()
    if name == "blank":
        return _blank()
    path = Path(name)
    if path.is_dir():
        return _load_directory(path, kind="shipped")
    if name == SHIPPED_MODEL_NAME and (shipped := _shipped_model_path()):
        return _load_directory(shipped, kind="shipped")
    if _is_installed(name):
        return _load_package(name)
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


def _load_package(package: str) -> LoadedNlp:
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


def _load_directory(path: Path, kind: str) -> LoadedNlp:
    verify_checksums(path)
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

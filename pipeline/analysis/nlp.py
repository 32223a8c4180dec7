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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from pipeline.analysis import nlp_components  # also registers the tiltak_* factories before any load
from pipeline.errors import TiltakError
from pipeline.schema import NlpModelInfo

UPSTREAM_PREFERENCE = ("nb_core_news_lg", "nb_core_news_md", "nb_core_news_sm")
SHIPPED_MODELS_DIR = Path(__file__).parents[2] / "models"
SHIPPED_MODEL_NAME = "nb_tiltak_core"
# sha256 of the shipped model's checksums.json (which lists every file's sha256): pinned in the package, so a folder
# that only agrees with its own checksums is not taken for the shipped model. Retraining it (`tiltak train-nlp`)
# means updating this line; tests/test_untrusted_models.py fails until then.
SHIPPED_NLP_CHECKSUMS = "2497b43f42e1c9fab34d41c60c6b4b13a44c7e7986b652ff72caf17df093b278"
# Where a pipeline folder's factories and registered functions may come from without --trust-nlp: spaCy's own
# packages, and tiltak's components (module names, exact or as a package prefix with a dot).
SPACY_OWN_PACKAGES = ("spacy", "thinc", "spacy_legacy")
OWN_FUNCTION_MODULES = ("pipeline.analysis.nlp_components",)
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


# Long texts are parsed in pieces, so that neither memory nor time depends on how a text is laid out: spaCy's
# memory grows with the length of one call (about 2.3 GB for a text of 1 MB in one call, 250 MB in pieces), and
# the extractors' work grows faster than linearly with the length of a sentence (a 50,000-character line without a
# full stop took a minute). The pieces concatenate to the text, so every character offset stays exact.
PIECE_CHARS = 50_000  # a longer text is cut between blocks (blank lines) into pieces of at most this many chars
MAX_SEGMENT_CHARS = 2_000  # a longer block is cut (between sentences, else lines, else words) into segments of at
# most this many chars, each parsed on its own: no sentence is longer
BATCH_CHARS = 200_000  # characters of pieces per nlp.pipe call
_BLOCK_END = re.compile(r"\n[^\S\n]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?…][\"»”’')\]]*\s+(?=[A-ZÆØÅÄÖÜÉ«\"“•–-])")
_LINE_END = re.compile(r"\n\s*")
_WORD_END = re.compile(r"\s+")


def split_for_parsing(text: str, piece_chars: int = PIECE_CHARS,
                      segment_chars: int = MAX_SEGMENT_CHARS) -> list[tuple[int, int]]:
    """(start, end) of the pieces ``text`` is parsed in, in order, covering it exactly. A text of at most
    ``piece_chars`` whose blocks are at most ``segment_chars`` long is one piece; otherwise whole blocks are
    packed into pieces of at most ``piece_chars``, and a longer block is cut into segments, each a piece of its
    own. A cut is made after whitespace, so a piece starts a word and (by spaCy's rules) a sentence."""
    if len(text) <= segment_chars:
        return [(0, len(text))]
    units: list[tuple[int, int, bool]] = []  # start, end, whether it is a segment of a longer block
    start = 0
    for match in [*_BLOCK_END.finditer(text), None]:
        end = match.end() if match is not None else len(text)
        if end <= start:
            continue
        if end - start <= segment_chars:
            units.append((start, end, False))
        else:
            units.extend((a, b, True) for a, b in _segments(text, start, end, segment_chars))
        start = end
    if len(text) <= piece_chars and not any(segment for _a, _b, segment in units):
        return [(0, len(text))]
    pieces: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    for a, b, segment in units:
        if current is not None and (segment or b - current[0] > piece_chars):
            pieces.append(current)
            current = None
        if segment:
            pieces.append((a, b))
        else:
            current = (current[0] if current is not None else a, b)
    if current is not None:
        pieces.append(current)
    return pieces


def _segments(text: str, start: int, end: int, limit: int) -> Iterator[tuple[int, int]]:
    """``text[start:end]`` cut into segments of at most ``limit`` characters: after the last sentence end that
    fits, else the last line break, else the last space; a run of ``limit`` characters without any is cut as is."""
    cursor = start
    while end - cursor > limit:
        window = text[cursor:cursor + limit]
        cut = None
        for boundary in (_SENTENCE_END, _LINE_END, _WORD_END):
            ends = [match.end() for match in boundary.finditer(window)]
            if ends and ends[-1] < len(window):
                cut = cursor + ends[-1]
                break
        cut = cut if cut is not None else cursor + limit
        yield cursor, cut
        cursor = cut
    if cursor < end:
        yield cursor, end


def parse(loaded: LoadedNlp, text: str, check: Callable[[], None] | None = None) -> Doc:
    """Run the pipeline over a whole document, however long, in pieces (see ``split_for_parsing``); ``check`` is
    called between the pieces' batches (a time limit raises there)."""
    return next(parse_many(loaded, [text], [check] if check is not None else None))


def parse_many(loaded: LoadedNlp, texts: list[str], checks: list[Callable[[], None] | None] | None = None
               ) -> Iterator[Doc]:
    """``parse`` for several documents, their pieces batched across documents (``nlp.pipe``), in order. Each
    text's Doc has exactly its text: the pieces' Docs are joined with ``Doc.from_docs``. ``checks[i]``, when
    given, is called after every batch that held a piece of ``texts[i]`` while more of it is to be parsed."""
    cuts = [split_for_parsing(text) for text in texts]
    done: list[list[Doc]] = [[] for _ in texts]
    next_text = 0
    for batch in _batches(texts, cuts):
        docs = loaded.nlp.pipe([texts[owner][a:b] for owner, a, b in batch], batch_size=len(batch))
        for (owner, _a, _b), doc in zip(batch, docs, strict=True):
            done[owner].append(doc)
        while next_text < len(texts) and len(done[next_text]) == len(cuts[next_text]):
            yield _joined(loaded, done[next_text], texts[next_text])
            done[next_text] = []
            next_text += 1
        if checks:
            for owner in sorted({owner for owner, _a, _b in batch}):
                if owner >= next_text and checks[owner] is not None:
                    checks[owner]()
    while next_text < len(texts):  # texts of no piece (none: an empty text is one empty piece)
        yield _joined(loaded, done[next_text], texts[next_text])
        next_text += 1


def _batches(texts: list[str], cuts: list[list[tuple[int, int]]]) -> Iterator[list[tuple[int, int, int]]]:
    """(text index, start, end) of pieces, grouped into nlp.pipe calls of about ``BATCH_CHARS`` characters."""
    batch: list[tuple[int, int, int]] = []
    size = 0
    for owner, pieces in enumerate(cuts):
        for a, b in pieces:
            if batch and size + (b - a) > BATCH_CHARS:
                yield batch
                batch, size = [], 0
            batch.append((owner, a, b))
            size += b - a
    if batch:
        yield batch


def _joined(loaded: LoadedNlp, docs: list[Doc], text: str) -> Doc:
    if len(docs) == 1:
        return docs[0]
    if not docs:
        return loaded.nlp.make_doc(text)
    for doc in docs:
        # Nothing downstream reads the tok2vec output, and joined it would hold ~400 bytes per token.
        doc.tensor = numpy.zeros((0,), dtype="float32")
    joined = Doc.from_docs(docs, ensure_whitespace=False)
    if joined.text != text:  # cannot happen: the pieces cover the text; measures point into it, so make sure
        raise RuntimeError("the parsed pieces do not join back into the text")
    return joined


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
    raise _not_installed(name)


def _not_installed(name: str) -> TiltakError:
    return TiltakError(
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
    """Refuse at once, without loading anything, an ``--nlp`` that ``load_nlp`` would refuse: a package that is not
    installed or is not a spaCy pipeline, a folder that does not exist, or a folder whose config names code from
    outside spaCy and tiltak (the command line calls this before any Prefect server is contacted)."""
    path = Path(name)
    if name in ("best", "blank"):
        return
    if path.is_dir():
        if not trusted:
            _refuse_foreign_code(path)
        return
    if name == SHIPPED_MODEL_NAME and _shipped_model_path():
        return
    if "/" in name or name.startswith("."):
        raise TiltakError(f"--nlp {name}: no such folder")
    if not re.fullmatch(r"[A-Za-z_]\w*", name) or not _is_installed(name):  # a package name has no dots
        raise _not_installed(name)
    if not trusted and not _is_spacy_model_package(name):
        _load_package(name)  # an installed package that is not a pipeline: refused, without importing it


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

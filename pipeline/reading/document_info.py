"""Document-level facts: which written standard a document is in, what kind of document it is, and its metadata
(date, year, identifier, issuer), read from the document and corrected by the user's sidecar files.

The language and type detectors are driven by data files (``pipeline/data/languages.yaml``,
``document_types.yaml``) so that they can be tuned without touching code.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from pipeline.errors import DocumentError
from pipeline.io import parse_yaml
from pipeline.reading.source import SourceDocument
from pipeline.rule_patterns import compile_rule
from pipeline.schema import DocumentType, Language

_WORD = re.compile(r"[a-zæøåäöüéèòóô]+", re.IGNORECASE)


@dataclass(frozen=True)
class LanguageProfiles:
    min_words: int
    norwegian_share: float
    norwegian: frozenset[str]
    bokmaal_only: frozenset[str]
    nynorsk_only: frozenset[str]
    others: dict[str, frozenset[str]]


@cache
def load_language_profiles(path: Path) -> LanguageProfiles:
    data = parse_yaml(path.read_text(encoding="utf-8"))
    profiles = data["profiles"]
    nb, nn = set(profiles["nb"]), set(profiles["nn"])
    return LanguageProfiles(
        min_words=int(data["min_words"]),
        norwegian_share=float(data["norwegian_share"]),
        norwegian=frozenset(profiles["norwegian"]),
        # Words both standards use say nothing about which one a text is in.
        bokmaal_only=frozenset(nb - nn),
        nynorsk_only=frozenset(nn - nb),
        others={name: frozenset(words) for name, words in profiles["other_languages"].items()},
    )


def detect_language(text: str, profiles_path: Path) -> Language:
    profiles = load_language_profiles(profiles_path)
    words = [w.lower() for w in _WORD.findall(text[:200_000])]
    if len(words) < profiles.min_words:
        return Language.UNKNOWN
    norwegian_hits = sum(w in profiles.norwegian for w in words)
    other_best = max((sum(w in vocab for w in words) for vocab in profiles.others.values()), default=0)
    if norwegian_hits / len(words) < profiles.norwegian_share or other_best > norwegian_hits:
        return Language.OTHER
    nb_hits = sum(w in profiles.bokmaal_only for w in words)
    nn_hits = sum(w in profiles.nynorsk_only for w in words)
    return Language.NYNORSK if nn_hits > nb_hits else Language.BOKMAAL


LANGUAGE_NAMES = {"en": "English", "sv": "Swedish", "da": "Danish", "de": "German"}


def closest_other_language(text: str, profiles_path: Path) -> str | None:
    """The name of the non-Norwegian profile with the most hits in ``text`` ("en", "de" …), if any hits."""
    profiles = load_language_profiles(profiles_path)
    words = [w.lower() for w in _WORD.findall(text[:200_000])]
    hits = {name: sum(w in vocab for w in words) for name, vocab in profiles.others.items()}
    best = max(hits, key=lambda name: hits[name], default=None)
    return best if best is not None and hits[best] > 0 else None


def not_norwegian_warning(text: str, profiles_path: Path) -> str | None:
    """A document warning when the text is detected as not Norwegian (``Language.OTHER``), else None.

    Such a document is still processed; the warning tells the user that the extraction rules (list intros,
    commitment verbs, actor names) are written for Norwegian, so its measures are likely missing or wrong.
    """
    if detect_language(text, profiles_path) is not Language.OTHER:
        return None
    closest = closest_other_language(text, profiles_path)
    detected = f" (looks like {LANGUAGE_NAMES.get(closest, closest)})" if closest else ""
    return (f"language: the text is not Norwegian{detected}; the extraction rules are written for Norwegian "
            "Bokmål and Nynorsk, so measures, commitments and actors may be missing or wrong")


@dataclass(frozen=True)
class DocumentTypeRules:
    head_chars: int
    title_weight: int
    min_score: int
    decisive: dict[str, int]
    patterns: dict[str, tuple[re.Pattern[str], ...]]


@cache
def load_document_type_rules(path: Path) -> DocumentTypeRules:
    data = parse_yaml(path.read_text(encoding="utf-8"))
    return DocumentTypeRules(
        head_chars=int(data["head_chars"]),
        title_weight=int(data["title_weight"]),
        min_score=int(data["min_score"]),
        decisive={name: int(score) for name, score in (data.get("decisive") or {}).items()},
        patterns={
            name: tuple(compile_rule(p, re.IGNORECASE, path, f"types.{name}[{i}]") for i, p in enumerate(patterns))
            for name, patterns in data["types"].items()
        },
    )


def detect_document_type(title: str | None, text: str, rules_path: Path) -> DocumentType:
    rules = load_document_type_rules(rules_path)
    head = text[: rules.head_chars]
    scores: dict[str, int] = {}
    for name, patterns in rules.patterns.items():
        score = sum(len(p.findall(head)) for p in patterns)
        if title:
            score += rules.title_weight * sum(bool(p.search(title)) for p in patterns)
        scores[name] = score
    for name, threshold in rules.decisive.items():
        if scores.get(name, 0) >= threshold:
            return DocumentType(name)
    best = max(scores, key=lambda name: scores[name])
    if scores[best] < rules.min_score:
        return DocumentType.UNKNOWN
    return DocumentType(best)


# --- Document metadata: date, year, identifier, issuer --------------------------------------------------------------
# Read from the document itself (``read_metadata``, part of the analysis: it depends on the content only), then
# overridden per file by a sidecar ``NAME.meta.toml`` or a folder's ``metadata.csv`` (``apply_overrides``, when the
# output is named for its input file, so a corrected sidecar takes effect without a new analysis).

# The title page: the first pages with text of a paginated document, else the first lines; identifiers and dates
# further on are references to other documents.
TITLE_PAGES = 2
HEAD_LINES = 40
HEAD_CHARS = 4000

_SESSION = r"\(\s?(\d{4})\s?[–—‐-]\s?(\d{4})\s?\)"
# Each: the pattern (over text with whitespace runs made one space), how to write the identifier, the document type.
_IDENTIFIERS: tuple[tuple[re.Pattern[str], str, DocumentType], ...] = (
    (re.compile(r"\bMeld\.\s?St\.\s?(\d{1,3})\s?" + _SESSION), "Meld. St. {0} ({1}–{2})", DocumentType.MELDING),
    (re.compile(r"\bSt\.\s?meld\.\s?nr\.\s?(\d{1,3})\s?" + _SESSION), "St.meld. nr. {0} ({1}–{2})",
     DocumentType.MELDING),
    (re.compile(r"\bProp\.\s?(\d{1,3})\s?(LS|L|S)\s?" + _SESSION), "Prop. {0} {1} ({2}–{3})",
     DocumentType.PROPOSISJON),
    (re.compile(r"\bOt\.\s?prp\.\s?nr\.\s?(\d{1,3})\s?" + _SESSION), "Ot.prp. nr. {0} ({1}–{2})",
     DocumentType.PROPOSISJON),
    (re.compile(r"\bInnst\.\s?(\d{1,4})\s?(L|S|E)\s?" + _SESSION), "Innst. {0} {1} ({2}–{3})",
     DocumentType.INNSTILLING),
    (re.compile(r"\bNOU\s?(\d{4})\s?:\s?(\d{1,3})\b"), "NOU {0}: {1}", DocumentType.NOU),
)
_MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september", "oktober",
           "november", "desember")
_MONTH = "(" + "|".join(_MONTHS) + ")"
_DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})\.\s?" + _MONTH + r"\s(\d{4})\b", re.IGNORECASE)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(\d{4})\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTH_YEAR = re.compile(r"\b" + _MONTH + r"\s(\d{4})\b", re.IGNORECASE)
_ISO_PARTIAL = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_WHITESPACE = re.compile(r"\s+")
MIN_YEAR, MAX_YEAR = 1814, 2100


@dataclass(frozen=True)
class Identifier:
    text: str
    year: int
    session: tuple[int, int] | None
    document_type: DocumentType


def find_identifier(text: str) -> Identifier | None:
    """The first official identifier in ``text`` ("Meld. St. 18 (2018–2019)", "NOU 2023: 4" …), normalised."""
    flat = _WHITESPACE.sub(" ", text)
    found: list[tuple[int, Identifier]] = []
    for pattern, template, document_type in _IDENTIFIERS:
        if match := pattern.search(flat):
            groups = match.groups()
            if document_type is DocumentType.NOU:
                year, session = int(groups[0]), None
            else:
                session = (int(groups[-2]), int(groups[-1]))
                if session[1] - session[0] != 1:  # "(2018–2020)" is not a session of the Storting
                    continue
                year = session[0]
            found.append((match.start(), Identifier(template.format(*groups), year, session, document_type)))
    return min(found, key=lambda item: item[0])[1] if found else None


def _checked_date(year: int, month: int, day: int | None) -> str | None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return datetime.date(year, month, day or 1).isoformat()[: 10 if day else 7]
    except ValueError:
        return None


def find_date(text: str) -> str | None:
    """The first full date in ``text`` ("5. april 2019", "05.04.2019", "2019-04-05"), else the first month and year
    ("mars 2023" → "2023-03"), as ISO 8601; None when there is neither."""
    flat = _WHITESPACE.sub(" ", text)
    candidates: list[tuple[int, str]] = []
    for match in _DAY_MONTH_YEAR.finditer(flat):
        if date := _checked_date(int(match[3]), _MONTHS.index(match[2].lower()) + 1, int(match[1])):
            candidates.append((match.start(), date))
            break
    for match in _NUMERIC_DATE.finditer(flat):
        if date := _checked_date(int(match[3]), int(match[2]), int(match[1])):
            candidates.append((match.start(), date))
            break
    for match in _ISO_DATE.finditer(flat):
        if date := _checked_date(int(match[1]), int(match[2]), int(match[3])):
            candidates.append((match.start(), date))
            break
    if candidates:
        return min(candidates)[1]
    for match in _MONTH_YEAR.finditer(flat):
        if date := _checked_date(int(match[2]), _MONTHS.index(match[1].lower()) + 1, None):
            return date
    return None


def parse_stated_date(value: str) -> str | None:
    """A date as a format states it (an ISO timestamp "2023-03-14T10:00:00+01:00", "2023-03", a Norwegian
    "14. mars 2023" or "14.03.2023") as ISO 8601 (YYYY-MM-DD or YYYY-MM); None when it is none of these."""
    value = value.strip()
    if (match := _ISO_PARTIAL.match(value)) and match[2]:
        return _checked_date(int(match[1]), int(match[2]), int(match[3]) if match[3] else None)
    return find_date(value)


def title_page_text(source: SourceDocument) -> str:
    """The text a title page holds: a paginated document's first pages with text, else its first lines."""
    if source.page_count:
        pages = sorted({line.page for line in source.lines if line.page is not None})[:TITLE_PAGES]
        lines = [line.text for line in source.lines if line.page in pages]
    else:
        lines = [line.text for line in source.lines[:HEAD_LINES]]
    return "\n".join(lines)[:HEAD_CHARS]


@dataclass
class ReadMetadata:
    date: str | None = None
    year: int | None = None
    identifier: str | None = None
    issuer: str | None = None
    document_type: DocumentType | None = None
    sources: dict[str, str] = field(default_factory=dict)


def read_metadata(source: SourceDocument, title: str | None) -> ReadMetadata:
    """Date, year, identifier and issuer as the document states them (see ``DocumentInfo``). The date: the format's
    publication date (HTML), else the title page's, else the file's creation date (PDF, DOCX) as a fallback. The
    year: the date's, unless an identifier's session says otherwise (a date on the title page outside the session
    is about something else); without a date, the identifier's."""
    found = ReadMetadata()
    head = f"{title or ''}\n{title_page_text(source)}"
    if identifier := find_identifier(head):
        found.identifier, found.document_type = identifier.text, identifier.document_type
        found.sources["identifier"] = "title-page"
    if source.published and (date := parse_stated_date(source.published)):
        found.date, found.sources["date"] = date, "html-meta"
    elif date := find_date(head):
        found.date, found.sources["date"] = date, "title-page"
    date_year = int(found.date[:4]) if found.date else None
    if identifier and (date_year is None or (identifier.session and date_year not in identifier.session)
                       or (identifier.session is None and date_year != identifier.year)):
        found.year, found.sources["year"] = identifier.year, "identifier"
    elif date_year is not None:
        found.year, found.sources["year"] = date_year, found.sources["date"]
    if found.date is None and source.created:
        found.date = source.created
        found.sources["date"] = f"{source.format.value}-created"
        if found.year is None:
            found.year, found.sources["year"] = int(source.created[:4]), found.sources["date"]
    if source.issuer:
        found.issuer, found.sources["issuer"] = source.issuer, "html-meta"
    return found


# --- The user's corrections: NAME.meta.toml beside a document, metadata.csv in its folder ----------------------------

SIDECAR_SUFFIX = ".meta.toml"
FOLDER_METADATA = "metadata.csv"
# What a sidecar or metadata.csv may set. ``inbox_path`` is written by ingestion beside its stored copies.
OVERRIDE_KEYS = ("title", "date", "year", "issuer", "document_type", "identifier", "source_url", "inbox_path")
CSV_FILE_COLUMN = "file"


class MetadataError(DocumentError):
    """A sidecar or metadata.csv that cannot be used: the message names that file, the line and the reason."""

    permanent = True  # writing the output again fails the same way until the user fixes the file (no retry)

    def __init__(self, document: Path | str, reason: str):
        super().__init__(document, "metadata", reason)


@dataclass(frozen=True)
class Overrides:
    values: dict[str, object]
    origins: dict[str, str]  # key → "sidecar NAME.meta.toml" / "metadata.csv line N"


def sidecar_candidates(document: Path) -> tuple[Path, Path]:
    """``report.pdf.meta.toml`` (the whole name: two documents may share a stem), else ``report.meta.toml``."""
    return document.with_name(document.name + SIDECAR_SUFFIX), document.with_name(document.stem + SIDECAR_SUFFIX)


def _sidecar(document: Path) -> Path | None:
    return next((path for path in sidecar_candidates(document) if path.is_file()), None)


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^[ \t]*+[\"']?{re.escape(key)}[\"']?[ \t]*+=", re.MULTILINE)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _checked_value(key: str, value: object) -> object:
    """The override's value in the form DocumentInfo holds, or ValueError saying what is wrong with it."""
    if key == "date":
        if isinstance(value, datetime.datetime):
            value = value.date()
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
            year = int(value)
            if not MIN_YEAR <= year <= MAX_YEAR:
                raise ValueError(f"{value!r} is not a year between {MIN_YEAR} and {MAX_YEAR}")
            return str(year)
        if isinstance(value, str) and (date := parse_stated_date(value)) and _ISO_PARTIAL.fullmatch(value.strip()):
            return date
        raise ValueError(f"{value!r} is not a date (write YYYY-MM-DD, YYYY-MM or YYYY)")
    if key == "year":
        if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit() \
                or not MIN_YEAR <= int(value) <= MAX_YEAR:
            raise ValueError(f"{value!r} is not a year between {MIN_YEAR} and {MAX_YEAR}")
        return int(value)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a non-empty text")
    value = value.strip()
    if key == "document_type":
        allowed = [kind.value for kind in DocumentType]
        if value not in allowed:
            raise ValueError(f"{value!r} is not a document type; use one of {', '.join(allowed)}")
    if key == "source_url" and not re.match(r"https?://\S", value, re.IGNORECASE):
        raise ValueError(f"{value!r} is not an http or https address")
    return value


def _read_sidecar(document: Path, sidecar: Path) -> Overrides:
    import tomllib

    try:
        text = sidecar.read_bytes().decode("utf-8-sig")
        data = tomllib.loads(text)
    except OSError as exc:
        raise MetadataError(document, f"{sidecar}: cannot read: {(exc.strerror or str(exc)).lower()}") from exc
    except UnicodeDecodeError as exc:
        raise MetadataError(document, f"{sidecar}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:  # its message says where: "(at line 3, column 8)"
        raise MetadataError(document, f"{sidecar}: not valid TOML: {exc}") from exc
    values: dict[str, object] = {}
    for key, value in data.items():
        line = _line_of(text, key)
        where = f"{sidecar}: line {line}" if line else f"{sidecar}"
        if key not in OVERRIDE_KEYS:
            raise MetadataError(document, f"{where}: unknown key {key!r}; a sidecar sets "
                                          f"{', '.join(OVERRIDE_KEYS)}")
        try:
            values[key] = _checked_value(key, value)
        except ValueError as exc:
            raise MetadataError(document, f"{where}: {key}: {exc}") from exc
    return Overrides(values, dict.fromkeys(values, f"sidecar {sidecar.name}"))


def _decode_csv(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:  # Excel on Norwegian Windows saves CSV in cp1252
        return data.decode("cp1252", errors="replace")


@cache
def _read_folder_csv(csv_path: Path, _mtime_ns: int, _size: int) -> dict[str, tuple[int, dict[str, str]] | str]:
    """``metadata.csv`` as file name → (line, non-empty cells), or → an error for that file (a duplicate row). A
    problem with the whole file raises ValueError naming the line. Cached by the file's mtime and size."""
    import csv
    import io

    text = _decode_csv(csv_path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)  # Excel writes ";" where the decimal comma is the custom
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = [(name or "").strip() for name in reader.fieldnames or []]
    if CSV_FILE_COLUMN not in columns:
        raise ValueError(f"line 1: no {CSV_FILE_COLUMN!r} column (the header has {', '.join(columns) or 'nothing'})")
    if unknown := [name for name in columns if name not in (CSV_FILE_COLUMN, *OVERRIDE_KEYS)]:
        raise ValueError(f"line 1: unknown column {unknown[0]!r}; the columns are {CSV_FILE_COLUMN}, "
                         f"{', '.join(OVERRIDE_KEYS)}")
    rows: dict[str, tuple[int, dict[str, str]] | str] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        cells = {(key or "").strip(): (value or "").strip() for key, value in row.items() if isinstance(value, str)}
        name = cells.pop(CSV_FILE_COLUMN, "").replace("\\", "/").removeprefix("./")
        if not name:
            continue
        if name in rows:
            first = rows[name]
            earlier = f" (also line {first[0]})" if isinstance(first, tuple) else ""
            rows[name] = f"line {start}: {name!r} is listed twice{earlier}"
            continue
        rows[name] = (start, {key: value for key, value in cells.items() if value})
    return rows


def _read_folder_row(document: Path, csv_path: Path) -> Overrides | None:
    import unicodedata

    try:
        stat = csv_path.stat()
        rows = _read_folder_csv(csv_path, stat.st_mtime_ns, stat.st_size)
    except OSError as exc:
        raise MetadataError(document, f"{csv_path}: cannot read: {(exc.strerror or str(exc)).lower()}") from exc
    except (ValueError, UnicodeError) as exc:
        raise MetadataError(document, f"{csv_path}: {exc}") from exc
    entry = rows.get(document.name) or rows.get(unicodedata.normalize("NFC", document.name))
    if entry is None:
        return None
    if isinstance(entry, str):
        raise MetadataError(document, f"{csv_path}: {entry}")
    line, cells = entry
    values = {}
    for key, value in cells.items():
        try:
            values[key] = _checked_value(key, value)
        except ValueError as exc:
            raise MetadataError(document, f"{csv_path}: line {line}: {key}: {exc}") from exc
    return Overrides(values, dict.fromkeys(values, f"{FOLDER_METADATA} line {line}"))


def find_overrides(document: Path) -> Overrides | None:
    """The user's corrections for ``document``: its folder's ``metadata.csv`` row, overridden in turn by its sidecar
    (the more specific). None when there are none. Raises MetadataError for a file that cannot be used."""
    document = Path(document)
    found: list[Overrides] = []
    if (csv_path := document.parent / FOLDER_METADATA).is_file() and (row := _read_folder_row(document, csv_path)):
        found.append(row)
    if sidecar := _sidecar(document):
        found.append(_read_sidecar(document, sidecar))
    if not found:
        return None
    return Overrides({k: v for item in found for k, v in item.values.items()},
                     {k: v for item in found for k, v in item.origins.items()})


def overrides_fingerprint(document: Path) -> str:
    """Changes when the user's corrections for ``document`` may have: the sidecar's and metadata.csv's size and
    modification time ('' when there are neither), so a re-run rewrites an output whose corrections changed."""
    parts = []
    for path in (*sidecar_candidates(Path(document)), Path(document).parent / FOLDER_METADATA):
        try:
            stat = path.stat()
        except OSError:
            continue
        parts.append(f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def apply_overrides(info: dict, document: Path) -> dict:
    """The document's info (``DocumentInfo`` as JSON data) with the user's corrections for the file at ``document``
    applied and ``metadata_sources`` saying so. A date sets the year with it; a date that is a bare year sets the
    year and clears the date."""
    overrides = find_overrides(document)
    if overrides is None:
        return info
    info = {**info, "metadata_sources": dict(info.get("metadata_sources") or {})}
    sources = info["metadata_sources"]
    for key, value in overrides.values.items():
        origin = overrides.origins[key]
        if key == "date":
            date = str(value)
            info["date"] = None if len(date) == 4 else date
            if "year" not in overrides.values:
                info["year"], sources["year"] = int(date[:4]), origin
        else:
            info[key] = value
        sources[key] = origin
    if info.get("date") is None:
        sources.pop("date", None)
    return info

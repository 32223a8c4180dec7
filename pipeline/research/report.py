"""The HTML report: one self-contained file a person opens in a browser, offline.

At the top: a search box (every word must occur in a measure, its section, intro, actors, amounts or deadlines),
an actor filter and a document filter, over all documents. Per document: its text with the measures and the actor
mentions highlighted (offsets from the JSON), a measures table with each measure's amounts, deadlines and
responsible actor, its page (linked to ``file.pdf#page=N`` for a PDF found beside the report), filtering by focus
area and strength ("N av M tiltak vises"), the actors, and the focus-area and strength distributions as inline SVG
bar charts. Below 700 px the tables become cards. Interface strings are Norwegian (``lang="nb"``) or English
(``lang="en"``). With a comparison (``pipeline.research.compare``'s result, or the same thing as
a plain dict): the aligned measures side by side, the new and the dropped ones, a grouped SVG bar chart of
focus-area shares across the documents, and the measure histories as a timeline: one row per measure found in two or
more documents, one column per document, each step with its status, strength and amounts, a change of strength or
amount marked, and the drop after the last step (the columns stack below 700 px).

Self-contained means no external resource at all: inline CSS, one small inline script (allowed by its hash in
the page's Content-Security-Policy, which also forbids every fetch), inline SVG, no fonts, no images by URL.
Everything taken from the data goes through Jinja2's autoescaping or ``markupsafe.escape``.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup, escape

from pipeline import __version__
from pipeline.errors import TiltakError
from pipeline.io import atomic_write_text
from pipeline.research.export import extra_measure_columns, report_anchor
from pipeline.schema import Commitment, DocumentResult, Measure

STRENGTH_LABELS = {"binding": "Bindende", "intention": "Intensjon", "exploratory": "Utredende"}
STRENGTH_ORDER = ["binding", "intention", "exploratory"]
# Filter values for a measure without a strength or a focus area ("-" is never a taxonomy label id).
NO_STRENGTH = "-"
NO_FOCUS = "-"
ACTOR_TYPE_LABELS = {
    "ministry": "departement", "directorate": "direktorat", "state_enterprise": "statlig foretak",
    "company": "selskap", "interest_organisation": "interesseorganisasjon", "parliament": "Stortinget",
    "government": "regjeringen", "research_council": "forskningsråd", "research_institution": "forskningsinstitusjon",
    "regional_health_authority": "regionalt helseforetak", "municipal": "kommunal", "eu_body": "EU-organ",
    "other_public": "annet offentlig", "organisation": "organisasjon", "person": "person",
    "county": "fylkeskommune", "county_governor": "statsforvalter", "municipality": "kommune",
    "health_trust": "helseforetak", "court": "domstol", "international": "internasjonal organisasjon",
    "political_party": "parti", "media": "medium",
}
STATUS_LABELS = {"continued": "Videreført", "modified": "Endret", "new": "Nytt", "dropped": "Utgått",
                 "first": "Første gang"}
CHANGE_LABELS = {
    "text": "tekst", "wording": "ordlyd", "strength": "styrke", "focus_area": "fokusområde", "actors": "aktører",
    "amounts": "beløp", "deadlines": "frister", "responsible": "ansvarlig", "section": "kapittel",
    "verb": "verb", "object": "objekt",
}
STRENGTH_LABELS_EN = {"binding": "Binding", "intention": "Intention", "exploratory": "Exploratory"}
ACTOR_TYPE_LABELS_EN = {
    "ministry": "ministry", "directorate": "directorate", "state_enterprise": "state enterprise",
    "company": "company", "interest_organisation": "interest organisation", "parliament": "Storting",
    "government": "government", "research_council": "research council", "research_institution": "research institution",
    "regional_health_authority": "regional health authority", "municipal": "municipal", "eu_body": "EU body",
    "other_public": "other public", "organisation": "organisation", "person": "person",
}
STATUS_LABELS_EN = {"continued": "Continued", "modified": "Modified", "new": "New", "dropped": "Dropped",
                    "first": "First"}
CHANGE_LABELS_EN = {
    "text": "text", "wording": "wording", "strength": "strength", "focus_area": "focus area", "actors": "actors",
    "amounts": "amounts", "deadlines": "deadlines", "responsible": "responsible", "section": "section",
    "verb": "verb", "object": "object",
}
LANGUAGES = ("nb", "en")
# Interface strings: the template, the charts and the script (through data attributes) read them from here.
TEXTS: dict[str, dict[str, str]] = {
    "nb": {
        "report": "Tiltaksrapport", "document": "dokument", "documents": "dokumenter", "measures_word": "tiltak",
        "made": "laget", "with": "med", "comparison": "Sammenligning", "areas_across": "Fokusområder på tvers av "
        "dokumentene", "share_note": "Andel av hvert dokuments tiltak per fokusområde.", "status": "Status",
        "similarity": "Likhet", "changed": "Endret", "none_recur": "Ingen tiltak går igjen.", "new_in": "Nye tiltak i",
        "dropped_from": "Utgåtte tiltak fra", "none": "Ingen.", "warning": "Advarsel", "actors_word": "aktører",
        "areas_word": "fokusområder", "focus_areas": "Fokusområder", "strengths": "Styrke", "actors": "Aktører",
        "name": "Navn", "type": "Type", "mentions": "Omtaler", "in_text": "i teksten", "no_actors": "Ingen aktører "
        "funnet.", "measures": "Tiltak", "focus_area": "Fokusområde", "filter_focus": "Filtrer på fokusområde",
        "all_areas": "Alle fokusområder", "strength": "Styrke", "filter_strength": "Filtrer på styrke",
        "all_strengths": "Alle styrker", "count": "{n} av {total} tiltak vises", "id": "Id", "page": "Side",
        "measure": "Tiltak", "amounts": "Beløp", "deadlines": "Frister", "responsible": "Ansvarlig",
        "otherwise": "ellers", "no_measures": "Ingen tiltak funnet.", "doc_text": "Dokumentets tekst",
        "line": "strek", "actor": "Aktør", "person": "Person",
        "footer": "Rapporten er én selvstendig fil uten eksterne ressurser; tekst og forskyvninger er hentet fra "
        "tiltak-JSON.", "search": "Søk", "search_placeholder": "Søk i tiltak, kapitler og aktører",
        "all_actors": "Alle aktører", "all_documents": "Alle dokumenter", "filter_actor": "Filtrer på aktør",
        "filter_document": "Filtrer på dokument", "page_link": "Åpne side {page} i PDF-en", "pages": "sider",
        "chars": "tegn", "language": "språk", "unclassified": "uklassifisert", "not_assessed": "ikke vurdert",
        "no_area_chart": "Ingen tiltak med fokusområde.", "no_compare_chart": "Ingen fokusområder å sammenligne.",
        "area_chart": "Fordeling på fokusområder", "strength_chart": "Fordeling på styrke",
        "compare_chart": "Fokusområder på tvers av dokumenter", "per_year": "per år", "approximate": "omtrent",
        "kroner": "kr", "not_stated": "–",
        "histories": "Tiltakshistorikk", "histories_note": "Tiltak som går igjen i minst to av dokumentene, fulgt "
        "fra dokument til dokument; lengste historikk først. Endret styrke eller beløp er merket.",
        "not_yet": "ikke med ennå", "no_longer": "ikke med", "dropped_in": "Utgått i", "show_full": "vis hele",
        "strength_changed": "styrke endret", "amounts_changed": "beløp endret", "history": "Historikk",
        "history_steps": "{n} dokumenter", "no_amounts": "ingen beløp",
    },
    "en": {
        "report": "Measures report", "document": "document", "documents": "documents", "measures_word": "measures",
        "made": "made", "with": "with", "comparison": "Comparison", "areas_across": "Focus areas across the "
        "documents", "share_note": "Share of each document's measures per focus area.", "status": "Status",
        "similarity": "Similarity", "changed": "Changed", "none_recur": "No measure recurs.",
        "new_in": "New measures in", "dropped_from": "Measures dropped from", "none": "None.", "warning": "Warning",
        "actors_word": "actors", "areas_word": "focus areas", "focus_areas": "Focus areas", "strengths": "Strength",
        "actors": "Actors", "name": "Name", "type": "Type", "mentions": "Mentions", "in_text": "in the text",
        "no_actors": "No actors found.", "measures": "Measures", "focus_area": "Focus area",
        "filter_focus": "Filter by focus area", "all_areas": "All focus areas", "strength": "Strength",
        "filter_strength": "Filter by strength", "all_strengths": "All strengths",
        "count": "{n} of {total} measures shown", "id": "Id", "page": "Page", "measure": "Measure",
        "amounts": "Amounts", "deadlines": "Deadlines", "responsible": "Responsible", "otherwise": "otherwise",
        "no_measures": "No measures found.", "doc_text": "The document's text", "line": "underline",
        "actor": "Actor", "person": "Person",
        "footer": "The report is one self-contained file without external resources; texts and offsets come from "
        "the tiltak JSON.", "search": "Search", "search_placeholder": "Search measures, sections and actors",
        "all_actors": "All actors", "all_documents": "All documents", "filter_actor": "Filter by actor",
        "filter_document": "Filter by document", "page_link": "Open page {page} of the PDF", "pages": "pages",
        "chars": "characters", "language": "language", "unclassified": "unclassified",
        "not_assessed": "not assessed", "no_area_chart": "No measures with a focus area.",
        "no_compare_chart": "No focus areas to compare.", "area_chart": "Measures by focus area",
        "strength_chart": "Measures by strength", "compare_chart": "Focus areas across documents",
        "per_year": "per year", "approximate": "about", "kroner": "NOK", "not_stated": "–",
        "histories": "Measure histories", "histories_note": "Measures that recur in at least two of the documents, "
        "followed from document to document; longest history first. A changed strength or amount is marked.",
        "not_yet": "not yet included", "no_longer": "not included", "dropped_in": "Dropped in",
        "show_full": "show all", "strength_changed": "strength changed", "amounts_changed": "amounts changed",
        "history": "History", "history_steps": "{n} documents", "no_amounts": "no amounts",
    },
}
_LANG: contextvars.ContextVar[str] = contextvars.ContextVar("report_language", default="nb")


def _t(key: str) -> str:
    return TEXTS[_LANG.get()][key]


def _labels(kind: str) -> dict[str, str]:
    english = _LANG.get() == "en"
    return {"strength": STRENGTH_LABELS_EN if english else STRENGTH_LABELS,
            "actor_type": ACTOR_TYPE_LABELS_EN if english else ACTOR_TYPE_LABELS,
            "status": STATUS_LABELS_EN if english else STATUS_LABELS,
            "change": CHANGE_LABELS_EN if english else CHANGE_LABELS}[kind]


DOCUMENT_COLOURS = ["#1f5fbf", "#d9730d", "#2e8540", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#b7950b"]


# ---------------------------------------------------------------------------------------------------------------
# Loading


def load_documents(paths: Iterable[Path], *, strict: bool = False) -> tuple[list[DocumentResult], list[str]]:
    """Document JSONs from files and folders (a folder is searched recursively; ``runs/`` and hidden files are
    skipped). Returns the documents and notes about skipped files. A named file that is not a document JSON
    raises TiltakError; a file found in a folder is skipped with a note unless ``strict``."""
    documents: list[DocumentResult] = []
    notes: list[str] = []
    for path in paths:
        if not path.exists():
            raise TiltakError(f"{path}: no such file or folder")
        if path.is_dir():
            for file in sorted(path.rglob("*.json")):
                relative = file.relative_to(path).parts
                if "runs" in relative[:-1] or any(part.startswith(".") for part in relative):
                    continue
                try:
                    documents.append(_read_document(file))
                except TiltakError as exc:
                    if strict:
                        raise
                    notes.append(f"skipped {file}: a comparison JSON (pass it with --comparison)"
                                 if _is_comparison(file) else f"skipped {exc}")
        else:
            documents.append(_read_document(path))
    return documents, notes


def _is_comparison(file: Path) -> bool:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("kind") == "comparison"


def _read_document(file: Path) -> DocumentResult:
    try:
        return DocumentResult.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TiltakError(f"{file}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise TiltakError(f"{file}: not a tiltak document JSON: {str(exc).splitlines()[0]}") from exc


def load_comparison(file: Path) -> Any:
    """A comparison JSON, as ``pipeline.research.compare.ComparisonResult`` when that model exists and accepts it, else
    as the plain dict the report reads leniently (see ``comparison_view``)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TiltakError(f"{file}: cannot read: {exc.strerror}") from exc
    except ValueError as exc:
        raise TiltakError(f"{file}: not a comparison JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise TiltakError(f"{file}: not a comparison JSON (expected an object)")
    try:
        from pipeline.research import compare
    except ImportError:
        compare = None
    model = getattr(compare, "ComparisonResult", None)
    if model is not None:
        try:
            return model.model_validate(data)
        except ValueError as exc:
            if not any(key in data for key in ("pairs", "comparisons", "aligned")):
                raise TiltakError(f"{file}: not a comparison JSON: {str(exc).splitlines()[0]}") from exc
    elif not any(key in data for key in ("pairs", "comparisons", "aligned", "focus_areas", "distributions")):
        raise TiltakError(f"{file}: not a comparison JSON (no 'pairs')")
    return data


# ---------------------------------------------------------------------------------------------------------------
# Highlighting: nested <mark> elements from possibly overlapping offsets


@dataclass(frozen=True)
class HighlightSpan:
    """One highlighted range. ``layer`` breaks ties between spans with the same range (lower = outer)."""

    start: int
    end: int
    layer: int
    tag: str  # the element name, e.g. "mark"
    attrs: tuple[tuple[str, str], ...] = ()
    first_attrs: tuple[tuple[str, str], ...] = ()  # only on the first piece (e.g. the element id)


def _open_tag(span: HighlightSpan, *, first: bool) -> str:
    attrs = [*span.attrs, *(span.first_attrs if first else ()), *(() if first else (("data-cont", "1"),))]
    rendered = "".join(Markup(' {}="{}"').format(Markup(name), value) for name, value in attrs)
    return f"<{span.tag}{rendered}>"


def highlight(text: str, spans: Iterable[HighlightSpan]) -> Markup:
    """The escaped text with the spans as properly nested elements. A span that crosses the end of an enclosing
    one is closed there and reopened after it (its later pieces carry ``data-cont="1"`` and no ``first_attrs``),
    so the markup is always well formed whatever the offsets."""
    valid = sorted((s for s in spans if 0 <= s.start < s.end <= len(text)), key=lambda s: (s.start, -s.end, s.layer))
    starting: dict[int, list[HighlightSpan]] = defaultdict(list)
    for span in valid:
        starting[span.start].append(span)
    bounds = sorted({0, len(text)} | {s.start for s in valid} | {s.end for s in valid})
    out: list[str] = []
    stack: list[HighlightSpan] = []
    position = 0
    for bound in bounds:
        out.append(escape(text[position:bound]))
        position = bound
        ending = [i for i, span in enumerate(stack) if span.end == bound]
        if ending:
            popped = stack[ending[0]:]
            del stack[ending[0]:]
            out.extend(f"</{span.tag}>" for span in reversed(popped))
            for span in popped:
                if span.end > bound:
                    stack.append(span)
                    out.append(_open_tag(span, first=False))
        for span in starting.get(bound, ()):
            stack.append(span)
            out.append(_open_tag(span, first=True))
    out.append(escape(text[position:]))
    out.extend(f"</{span.tag}>" for span in reversed(stack))
    return Markup("".join(out))


# ---------------------------------------------------------------------------------------------------------------
# View models


@dataclass
class AreaCount:
    label: str
    name: str
    count: int
    share: float


@dataclass
class DocumentView:
    anchor: str
    id: str
    title: str
    subtitle: str
    text_html: Markup
    measures: list[dict[str, Any]]
    actors: list[dict[str, Any]]
    areas: list[AreaCount]
    focus_options: list[tuple[str, str, int]]
    strength_options: list[tuple[str, str, int]]
    chart: Markup
    strength_chart: Markup = field(default_factory=Markup)
    language: str = "nb"
    warnings: list[str] = field(default_factory=list)


def strength_label(strength: str | None) -> str:
    return _labels("strength").get(strength or "", strength or _t("not_assessed"))


def _area_names(documents: Sequence[DocumentResult]) -> dict[str, str]:
    names: dict[str, str] = {}
    for document in documents:
        for area in document.focus_areas:
            names.setdefault(area.label, area.name)
    return names


def _fallback_area_name(label: str) -> str:
    try:
        from pipeline.analysis.taxonomy import load_taxonomy

        return load_taxonomy().display_name(label)
    except Exception:  # the report never fails for want of a display name
        return label


def _area_name(label: str | None, names: dict[str, str]) -> str:
    if not label or label in {"unclassified", NO_FOCUS}:
        return _t("unclassified")
    if label not in names:
        names[label] = _fallback_area_name(label)
    return names[label]


def _document_areas(document: DocumentResult, names: dict[str, str]) -> list[AreaCount]:
    if document.focus_areas:
        return [AreaCount(a.label, a.name, a.count, a.share) for a in document.focus_areas]
    counts = Counter(m.focus_area for m in document.measures if m.focus_area)
    total = len(document.measures) or 1
    return [AreaCount(label, _area_name(label, names), count, round(count / total, 4))
            for label, count in counts.most_common()]


def _nok(value: float) -> str:
    """50000000 → '50 mill. kr' / '50 mill. NOK'; smaller amounts with thin spaces between thousands."""
    unit = _t("kroner")

    def number(scaled: float) -> str:  # the decimal comma in Norwegian, only in the number (never "mill, kr")
        return f"{scaled:g}".replace(".", ",") if _LANG.get() == "nb" else f"{scaled:g}"

    if value >= 1_000_000_000 and value % 100_000_000 == 0:
        return f"{number(value / 1e9)} mrd. {unit}"
    if value >= 1_000_000 and value % 100_000 == 0:
        return f"{number(value / 1e6)} mill. {unit}"
    return f"{value:,.0f} {unit}".replace(",", "\u00a0")


def _amount_title(amount) -> str:
    """The normalised amount, for the tooltip of the amount as written: '= 50 mill. kr' (a round figure '≥')."""
    if amount.nok is None:
        return ""
    return f"{'≥' if amount.approximate else '='} {_nok(amount.nok)}"


def _extra_fields(measure: Measure) -> list[tuple[str, str]]:
    """Measure fields the report does not know by name (e.g. a policy area added to the schema later), shown as
    'name: value' under the measure."""
    shown = []
    for column in extra_measure_columns():
        value = getattr(measure, column.name, None)
        if value is None or value == [] or value == "":
            continue
        if hasattr(value, "value"):
            value = value.value
        if isinstance(value, float):
            value = f"{value:.2f}"
        elif isinstance(value, list | tuple):
            value = ", ".join(map(str, value))
        shown.append((column.name.replace("_", " "), str(value)))
    return shown


def _measure_row(measure: Measure, anchor: str, names: dict[str, str], commitment: Commitment | None = None,
                 pdf_href: str | None = None, document_anchor: str = "") -> dict[str, Any]:
    amounts = [(a.text, _amount_title(a)) for a in commitment.amounts] if commitment else []
    deadlines = [d.text for d in commitment.deadlines] if commitment else []
    responsible = commitment.responsible if commitment else None
    actors = list(dict.fromkeys([*measure.actors, *([responsible] if responsible else [])]))
    section = " › ".join(measure.section)
    extras = _extra_fields(measure)
    searchable = [measure.text, section, measure.intro or "", *actors, *(text for text, _ in amounts), *deadlines,
                  *(value for _, value in extras)]
    return {
        "id": measure.id,
        "anchor": anchor,
        "document_anchor": document_anchor,
        "page": measure.page,
        "page_href": f"{pdf_href}#page={measure.page}" if pdf_href and measure.page else None,
        "strength": measure.strength or NO_STRENGTH,
        "strength_label": strength_label(measure.strength),
        "focus": measure.focus_area or NO_FOCUS,
        "focus_name": _area_name(measure.focus_area, names),
        "score": measure.focus_area_score,
        "runner_up": _area_name(measure.focus_area_runner_up, names) if measure.focus_area_runner_up else None,
        "runner_up_score": measure.focus_area_runner_up_score,
        "actors": measure.actors,
        "actor_keys": "|" + "|".join(actors) + "|",
        "responsible": responsible,
        "amounts": amounts,
        "deadlines": deadlines,
        "extras": extras,
        "text": measure.text,
        "section": section,
        "search": " ".join(searchable).lower(),  # the script lower-cases the query alike
    }


def pdf_href(document: DocumentResult, base_dir: Path | None) -> str | None:
    """A link to a PDF document's source file, relative to the folder the report is written to, when the file is
    there to link to (the path is as ``tiltak run`` got it: absolute, or relative to the current folder)."""
    info = document.document
    if base_dir is None or info.format != "pdf" or not info.source_path:
        return None
    source = Path(info.source_path)
    if not source.is_absolute():
        source = Path.cwd() / source
    if not source.is_file():
        return None
    try:
        relative = os.path.relpath(source.resolve(), base_dir.resolve())
    except ValueError:  # another drive (Windows): only an absolute address reaches it
        return source.resolve().as_uri()
    return quote(Path(relative).as_posix())


def _document_view(index: int, document: DocumentResult, names: dict[str, str],
                   base_dir: Path | None = None) -> DocumentView:
    anchor = f"d{index}"
    info = document.document
    spans: list[HighlightSpan] = []
    for measure in document.measures:
        row_title = f"{measure.id} · {strength_label(measure.strength)} · {_area_name(measure.focus_area, names)}"
        spans.append(HighlightSpan(
            measure.start, measure.end, 0, "mark",
            attrs=(("class", f"m s-{measure.strength or NO_STRENGTH}"), ("data-measure", measure.id),
                   ("data-focus", measure.focus_area or NO_FOCUS),
                   ("data-strength", measure.strength or NO_STRENGTH), ("title", row_title)),
            first_attrs=(("id", report_anchor(info.id, measure.id)),),
        ))
    actors = []
    for kind, group in (("actor", document.actors), ("person", document.persons)):
        for actor in group:
            type_label = _labels("actor_type").get(actor.type, actor.type)
            actors.append({"name": actor.name, "type": actor.type, "type_label": type_label, "kind": kind,
                           "mentions": len(actor.mentions), "abbreviation": actor.abbreviation,
                           "forms": sorted({m.text for m in actor.mentions
                                            if m.text.casefold() != actor.name.casefold()})})
            for mention in actor.mentions:
                spans.append(HighlightSpan(
                    mention.start, mention.end, 1, "mark",
                    attrs=(("class", "a p" if kind == "person" else "a"), ("data-actor", actor.name),
                           ("title", f"{actor.name} ({type_label})")),
                ))
    actors.sort(key=lambda a: (-a["mentions"], a["name"].casefold()))
    commitments = {c.measure_id: c for c in document.commitments}
    link = pdf_href(document, base_dir)
    measures = [_measure_row(m, report_anchor(info.id, m.id), names, commitments.get(m.id), link, anchor)
                for m in document.measures]
    areas = _document_areas(document, names)
    focus_counts = Counter(row["focus"] for row in measures)
    focus_options = [(a.label, a.name, focus_counts.get(a.label, 0)) for a in areas if focus_counts.get(a.label)]
    focus_options += [(label, _area_name(None if label == NO_FOCUS else label, names), count)
                      for label, count in sorted(focus_counts.items())
                      if label not in {option[0] for option in focus_options}]
    strength_counts = Counter(row["strength"] for row in measures)
    strength_options = [(s, strength_label(None if s == NO_STRENGTH else s), strength_counts[s])
                        for s in [*STRENGTH_ORDER, NO_STRENGTH] if strength_counts.get(s)]
    strength_options += [(s, strength_label(s), n) for s, n in sorted(strength_counts.items())
                         if s not in {*STRENGTH_ORDER, NO_STRENGTH}]
    parts = [info.file_name, info.document_type.replace("_", " ")]
    if info.page_count:
        parts.append(f"{info.page_count} {_t('pages')}")
    parts.append(f"{info.char_count:,} {_t('chars')}".replace(",", "\u00a0"))
    parts.append(f"{_t('language')} {info.language}")
    return DocumentView(
        anchor=anchor, id=info.id, title=info.title or info.file_name, subtitle=" · ".join(parts),
        text_html=highlight(document.text, spans), measures=measures, actors=actors, areas=areas,
        focus_options=focus_options, strength_options=strength_options,
        chart=area_chart(areas, chart_id=f"{anchor}-chart"), warnings=list(info.warnings),
        strength_chart=strength_chart(strength_options, chart_id=f"{anchor}-strength"),
        language="nn" if info.language == "nn" else "nb",
    )


# ---------------------------------------------------------------------------------------------------------------
# SVG charts


def _pct(share: float) -> str:
    return f"{100 * share:.0f}\u00a0%"


LABEL_CHARS = 64  # what fits the bar charts' 420 px width at 12 px; the full name stays in the bar's tooltip


def _fit(name: str, limit: int = LABEL_CHARS) -> str:
    return name if len(name) <= limit else name[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class _Bar:
    attribute: str  # the data attribute naming the bar's value, e.g. "focus"
    value: str
    name: str
    count: int
    share: float
    ratio: float  # the bar's length relative to the longest
    colour: str | None = None


def _bar_chart(css_class: str, chart_id: str, label: str, bars: Sequence[_Bar]) -> Markup:
    """Horizontal bars with each label above its bar: 420 px wide, so a phone shows it at nearly full size."""
    width, bar_width, row, top = 420, 330, 38, 4
    height = top * 2 + row * len(bars)
    parts = [Markup('<svg class="chart {}" id="{}" role="img" aria-label="{}" viewBox="0 0 {} {}" width="{}" '
                    'height="{}">').format(css_class, chart_id, label, width, height, width, height)]
    for i, bar in enumerate(bars):
        y = top + i * row
        length = round(bar_width * bar.ratio, 1)
        fill = Markup(' fill="{}"').format(bar.colour) if bar.colour else Markup("")
        parts.append(Markup(
            '<g class="row"><text class="label" x="0" y="{ty}">{short}</text>'
            '<rect class="bar" data-{attribute}="{value}" x="0" y="{by}" width="{w}" height="16" rx="2"{fill}>'
            '<title>{name}: {count} {word} ({pct})</title></rect>'
            '<text class="value" x="{vx}" y="{vy}">{count} ({pct})</text></g>').format(
            ty=y + 12, short=_fit(bar.name), attribute=Markup(bar.attribute), value=bar.value, by=y + 17, w=length,
            fill=fill, name=bar.name, count=bar.count, word=_t("measures_word"), pct=_pct(bar.share),
            vx=length + 6, vy=y + 29))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def area_chart(areas: Sequence[AreaCount], *, chart_id: str) -> Markup:
    """One ``rect.bar`` per focus area, labelled with name, count and share."""
    if not areas:
        return Markup('<p class="empty">{}</p>').format(_t("no_area_chart"))
    largest = max(a.share for a in areas) or 1.0
    return _bar_chart("area-chart", chart_id, _t("area_chart"),
                      [_Bar("focus", a.label, a.name, a.count, a.share, a.share / largest) for a in areas])


STRENGTH_COLOURS = {"binding": "#2e8540", "intention": "#d9730d", "exploratory": "#8e44ad"}


def strength_chart(options: Sequence[tuple[str, str, int]], *, chart_id: str) -> Markup:
    """One ``rect.bar`` per strength (binding, intention, exploratory, not assessed), coloured as the badges."""
    total = sum(count for _, _, count in options)
    if not total:
        return Markup("")
    largest = max(count for _, _, count in options)
    return _bar_chart("strength-chart", chart_id, _t("strength_chart"), [
        _Bar("strength", strength, label, count, count / total, count / largest,
             STRENGTH_COLOURS.get(strength, "#7f8c8d")) for strength, label, count in options])


def grouped_area_chart(titles: Sequence[str], rows: Sequence[tuple[str, str, Sequence[float]]]) -> Markup:
    """Focus-area shares across documents: one group per area (``g.group``, its name above its bars), one
    ``rect.bar`` per document in each group (zero shares too, so every group has one bar per document), and a
    legend. 420 px wide, like the other charts, so a phone shows it at nearly full size."""
    if not rows or not titles:
        return Markup('<p class="empty">{}</p>').format(_t("no_compare_chart"))
    width, bar_width, bar, heading, gap, legend = 420, 340, 12, 18, 10, 22 * len(titles) + 8
    group = heading + bar * len(titles) + gap
    height = legend + group * len(rows) + 4
    largest = max((share for _, _, shares in rows for share in shares), default=0.0) or 1.0
    parts = [Markup('<svg class="chart compare-chart" role="img" aria-label="{label}" '
                    'viewBox="0 0 {w} {h}" width="{w}" height="{h}">').format(w=width, h=height,
                                                                             label=_t("compare_chart"))]
    for d, title in enumerate(titles):
        colour = DOCUMENT_COLOURS[d % len(DOCUMENT_COLOURS)]
        parts.append(Markup('<g class="legend-item"><title>{t}</title>'
                            '<rect x="0" y="{y}" width="14" height="14" fill="{c}"></rect>'
                            '<text x="20" y="{ty}">{short}</text></g>').format(
            y=4 + 22 * d, c=colour, ty=16 + 22 * d, t=title, short=_fit(title, LABEL_CHARS)))
    for i, (label, name, shares) in enumerate(rows):
        y0 = legend + i * group
        parts.append(Markup('<g class="group" data-focus="{}"><text class="label" x="0" y="{}">{}</text>').format(
            label, y0 + 13, _fit(name)))
        for d, share in enumerate(shares):
            colour = DOCUMENT_COLOURS[d % len(DOCUMENT_COLOURS)]
            w = round(bar_width * share / largest, 1)
            y = y0 + heading + d * bar
            parts.append(Markup(
                '<rect class="bar" data-focus="{label}" data-document="{d}" x="0" y="{y}" width="{w}" '
                'height="{h}" fill="{c}"><title>{name} – {title}: {pct}</title></rect>'
                '<text class="value" x="{vx}" y="{ty}">{pct}</text>').format(
                label=label, d=d, y=y, w=w, h=bar - 1, c=colour, name=name,
                title=titles[d], pct=_pct(share), vx=w + 4, ty=y + bar - 2))
        parts.append(Markup("</g>"))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


# ---------------------------------------------------------------------------------------------------------------
# The comparison: pipeline.research.compare's ComparisonResult, or the same JSON as a dict
#
# Read from it (other fields are ignored, and a missing one only leaves its part of the page out):
#   documents: [{index, id, title, focus_areas: [{label, count, share}]}]
#   pairs: [{a, b (indexes into documents), a_id, b_id (document ids),
#            aligned: [{a_id, b_id, a_text, b_text, similarity, status, changed: [wording|strength|actors|
#                       focus_area], a_strength, b_strength, actors_added, actors_removed, a_focus_area,
#                       b_focus_area}],
#            new: [{id, text, strength, focus_area}], dropped: [...]}]
#   histories: [{id, dropped_after, steps: [{document (index), measure_id, text, status, strength, amounts,
#                similarity}]}]
# A document missing from ``documents`` falls back to the document JSONs given to the report (matched by id).


def _as_plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value


def _changes(item: Mapping[str, Any], names: dict[str, str]) -> list[str]:
    """What changed in an aligned pair, in words, with the before → after where the comparison gives it."""
    described = []
    for change in item.get("changed") or []:
        change = str(change)
        label = _labels("change").get(change, change)
        if change == "strength" and (item.get("a_strength") or item.get("b_strength")):
            label += f": {strength_label(item.get('a_strength'))} → {strength_label(item.get('b_strength'))}"
        elif change == "focus_area" and (item.get("a_focus_area") or item.get("b_focus_area")):
            label += (f": {_area_name(item.get('a_focus_area'), names)} → "
                      f"{_area_name(item.get('b_focus_area'), names)}")
        elif change == "actors":
            moves = [*(f"+{a}" for a in item.get("actors_added") or []),
                     *(f"−{a}" for a in item.get("actors_removed") or [])]
            if moves:
                label += f": {', '.join(moves)}"
        described.append(label)
    return described


@dataclass
class PairView:
    a_title: str
    b_title: str
    aligned: list[dict[str, Any]]
    new: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    counts: dict[str, int]


@dataclass
class TimelineColumn:
    """One compared document, a column of the timeline."""

    title: str
    year: int | None
    anchor: str | None  # its section in the report, when the report has the document


@dataclass
class HistoryView:
    """One measure's history as a row of the timeline: one cell per compared document, in order."""

    id: str
    cells: list[dict[str, Any]]
    steps: int
    dropped_in: str | None  # the title of the document the measure was dropped in


@dataclass
class ComparisonView:
    pairs: list[PairView]
    chart: Markup
    chart_titles: list[str]
    columns: list[TimelineColumn] = field(default_factory=list)
    histories: list[HistoryView] = field(default_factory=list)


def comparison_view(comparison: Any, documents: Sequence[DocumentResult],
                    names: dict[str, str] | None = None) -> ComparisonView:
    names = names if names is not None else _area_names(documents)
    data = _as_plain(comparison)
    if not isinstance(data, Mapping):
        raise TiltakError("the comparison is not a JSON object")
    given = {str(d.document.id): (f"d{i}", d) for i, d in enumerate(documents, start=1)}
    compared = [d for d in data.get("documents") or [] if isinstance(d, Mapping) and d.get("id") is not None]
    refs = [str(d["id"]) for d in compared] or list(given)
    titles = {ref: doc.document.title or doc.document.file_name for ref, (_, doc) in given.items()}
    titles.update({str(d["id"]): d["title"] for d in compared if d.get("title")})

    def document_ref(pair: Mapping[str, Any], side: str) -> str | None:
        ref = pair.get(f"{side}_id")
        index = pair.get(side)
        if ref is None and isinstance(index, int) and 0 <= index < len(refs):
            ref = refs[index]
        return None if ref is None else str(ref)

    def href(document: str | None, measure: Any) -> str | None:
        if document not in given or not measure:
            return None
        return "#" + quote(report_anchor(given[document][1].document.id, str(measure)), safe="-_.~")

    pairs: list[PairView] = []
    for pair in data.get("pairs") or []:
        pair = _as_plain(pair)
        if not isinstance(pair, Mapping):
            continue
        a, b = document_ref(pair, "a"), document_ref(pair, "b")
        aligned = []
        for item in pair.get("aligned") or []:
            status = str(item.get("status") or "modified")
            similarity = item.get("similarity")
            aligned.append({
                "a_id": item.get("a_id"), "b_id": item.get("b_id"),
                "a_text": item.get("a_text") or "", "b_text": item.get("b_text") or "",
                "a_href": href(a, item.get("a_id")), "b_href": href(b, item.get("b_id")),
                "status": status, "status_label": _labels("status").get(status, status),
                "similarity": None if similarity is None else float(similarity),
                "changed": _changes(item, names),
            })
        unaligned = {}
        for key, document in (("new", b), ("dropped", a)):
            unaligned[key] = [{
                "id": m.get("id"), "text": m.get("text") or "", "href": href(document, m.get("id")),
                "strength": m.get("strength") or NO_STRENGTH, "strength_label": strength_label(m.get("strength")),
                "focus_name": _area_name(m.get("focus_area"), names),
            } for m in pair.get(key) or [] if isinstance(m, Mapping)]
        statuses = Counter(row["status"] for row in aligned)
        pairs.append(PairView(
            a_title=titles.get(a or "", a or "A"), b_title=titles.get(b or "", b or "B"), aligned=aligned,
            new=unaligned["new"], dropped=unaligned["dropped"],
            counts={"continued": statuses["continued"], "modified": statuses["modified"],
                    "new": len(unaligned["new"]), "dropped": len(unaligned["dropped"])},
        ))

    distributions: list[dict[str, tuple[str | None, float]]] = []
    by_ref = {str(d["id"]): d for d in compared}
    for ref in refs:
        listed = by_ref.get(ref, {}).get("focus_areas")
        if listed is not None:
            distributions.append({str(f["label"]): (f.get("name"), float(f.get("share") or 0.0))
                                  for f in listed if isinstance(f, Mapping) and f.get("label") is not None})
        elif ref in given:
            distributions.append({a.label: (a.name, a.share) for a in _document_areas(given[ref][1], names)})
        else:
            distributions.append({})
    chart_titles = [titles.get(ref, ref) for ref in refs]
    columns = [TimelineColumn(title=titles.get(ref, ref), year=given[ref][1].document.year if ref in given else None,
                              anchor=given[ref][0] if ref in given else None) for ref in refs]
    histories = _history_views(data.get("histories"), columns, lambda index, measure: href(refs[index], measure))
    return ComparisonView(pairs=pairs, chart=_cross_chart(chart_titles, distributions, names),
                          chart_titles=chart_titles, columns=columns, histories=histories)


STEP_TEXT_CHARS = 140  # a step's text is cut here in the timeline; the whole text is one click (or a hover) away


def _amounts_text(amounts: Sequence[float]) -> str:
    return ", ".join(_nok(a) for a in amounts)


def _history_views(histories: Any, columns: Sequence[TimelineColumn], href) -> list[HistoryView]:
    """The histories that span two or more documents, longest first (the comparison's order among equals), as rows
    of one cell per document: the step there, the drop right after its last step, or nothing. Read leniently: an
    older comparison without ``histories`` gives none, and a malformed entry or step is left out."""
    views: list[HistoryView] = []
    for history in histories if isinstance(histories, list | tuple) else []:
        history = _as_plain(history)
        if not isinstance(history, Mapping):
            continue
        steps: dict[int, Mapping[str, Any]] = {}
        for step in history.get("steps") or []:
            step = _as_plain(step)
            index = step.get("document") if isinstance(step, Mapping) else None
            if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(columns):
                steps.setdefault(index, step)
        if len(steps) < 2:
            continue
        dropped = history.get("dropped_after")
        dropped_in = dropped + 1 if isinstance(dropped, int) and dropped + 1 < len(columns) else None
        cells: list[dict[str, Any]] = []
        previous: Mapping[str, Any] | None = None
        for index, column in enumerate(columns):
            step = steps.get(index)
            if step is None:
                kind = "dropped" if index == dropped_in else ("before" if index < min(steps) else "after")
                cells.append({"kind": kind, "column": column, "status": kind,
                              "status_label": _labels("status")["dropped"] if kind == "dropped" else ""})
                continue
            cells.append(_step_cell(index, step, previous, column, href))
            previous = step
        views.append(HistoryView(id=str(history.get("id") or f"h{min(steps)}"), cells=cells, steps=len(steps),
                                 dropped_in=columns[dropped_in].title if dropped_in is not None else None))
    views.sort(key=lambda view: -view.steps)  # stable: equals keep the comparison's order
    return views


def _step_cell(index: int, step: Mapping[str, Any], previous: Mapping[str, Any] | None, column: TimelineColumn,
               href) -> dict[str, Any]:
    status = str(step.get("status") or ("first" if previous is None else "modified"))
    if status == "first" and index > 0:
        status = "new"  # the history starts after the first document: the measure is new there
    text = str(step.get("text") or "")
    strength = step.get("strength")
    amounts = [float(a) for a in step.get("amounts") or [] if isinstance(a, int | float) and not isinstance(a, bool)]
    previous_amounts = None if previous is None else [
        float(a) for a in previous.get("amounts") or [] if isinstance(a, int | float) and not isinstance(a, bool)]
    similarity = step.get("similarity")
    measure = step.get("measure_id")
    return {
        "kind": "step", "column": column, "measure_id": measure, "href": href(index, measure),
        "status": status, "status_label": _labels("status").get(status, status),
        "text": text, "short": _fit(text, STEP_TEXT_CHARS),
        "strength": strength or NO_STRENGTH, "strength_label": strength_label(strength),
        "strength_changed": previous is not None and previous.get("strength") != strength,
        "previous_strength_label": None if previous is None else strength_label(previous.get("strength")),
        "amounts": [_nok(a) for a in amounts],
        "amounts_changed": previous_amounts is not None and sorted(previous_amounts) != sorted(amounts),
        "previous_amounts": _amounts_text(previous_amounts or []) or _t("no_amounts"),
        "similarity": float(similarity) if isinstance(similarity, int | float) else None,
    }


def _cross_chart(titles: Sequence[str], distributions: Sequence[Mapping[str, tuple[str | None, float]]],
                 names: dict[str, str]) -> Markup:
    labels: list[str] = []
    for distribution in distributions:
        for label, (name, _) in distribution.items():
            if name:
                names.setdefault(label, name)
            if label not in labels:
                labels.append(label)
    totals = {label: sum(d.get(label, (None, 0.0))[1] for d in distributions) for label in labels}
    labels.sort(key=lambda label: -totals[label])
    rows = [(label, _area_name(label, names), [d.get(label, (None, 0.0))[1] for d in distributions])
            for label in labels]
    return grouped_area_chart(titles, rows)


def _documents_chart(documents: Sequence[DocumentView]) -> Markup:
    distributions = [{a.label: (a.name, a.share) for a in doc.areas} for doc in documents]
    names = {a.label: a.name for doc in documents for a in doc.areas}
    return _cross_chart([doc.title for doc in documents], distributions, names)


# ---------------------------------------------------------------------------------------------------------------
# The page

CSS = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#d9dde5; --bg:#f6f7f9; --card:#fff; --measure:#fff1a8;
  --actor:#d7ebff; --actor-line:#3b82c4; --binding:#2e8540; --intention:#d9730d; --exploratory:#8e44ad; }
* { box-sizing: border-box; }
body { margin:0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color:var(--ink); background:var(--bg); line-height:1.45; }
header.top { background:#1d2f4f; color:#fff; padding:18px 28px; }
header.top h1 { margin:0 0 4px; font-size:1.5rem; }
header.top p { margin:0; color:#c9d3e6; }
nav.toc { padding:10px 28px; background:#e9edf3; border-bottom:1px solid var(--line); }
nav.toc a { margin-right:18px; color:#1d4f91; }
main { padding:18px 28px 40px; max-width:1400px; }
section.card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:18px 22px;
  margin-bottom:26px; }
h2 { margin:0 0 4px; font-size:1.3rem; }
h3 { margin:22px 0 8px; font-size:1.05rem; }
.subtitle, .muted { color:var(--muted); font-size:.9rem; }
.stats { display:flex; gap:12px; flex-wrap:wrap; margin:12px 0; }
.stat { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:6px 12px; }
.stat b { font-size:1.15rem; margin-right:4px; }
.warning { color:#8a5a00; font-size:.9rem; margin:4px 0; }
.filters { display:flex; gap:16px; align-items:center; flex-wrap:wrap; margin:8px 0 10px; }
.filters label { font-size:.9rem; }
.filters select { margin-left:6px; padding:3px 6px; font-size:.9rem; }
.count { font-weight:600; }
table { border-collapse:collapse; width:100%; font-size:.9rem; }
th, td { text-align:left; vertical-align:top; padding:6px 8px; border-bottom:1px solid var(--line); }
th { background:#eef1f6; position:sticky; top:0; }
td.num { text-align:right; white-space:nowrap; }
tr[hidden] { display:none; }
tr.measure-row:target, tr.measure-row.current { background:#fffbe0; }
.badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:.8rem; color:#fff;
  background:#7f8c8d; white-space:nowrap; }
.badge.s-binding { background:var(--binding); } .badge.s-intention { background:var(--intention); }
.badge.s-exploratory { background:var(--exploratory); }
.badge.st-continued { background:#2e8540; } .badge.st-modified { background:#d9730d; }
.badge.st-new { background:#1f5fbf; } .badge.st-dropped { background:#c0392b; }
.badge.st-first { background:#1d2f4f; }
.runner { color:var(--muted); font-size:.8rem; }
.doc-text { white-space:pre-wrap; font-family: Georgia, "Times New Roman", serif; font-size:.95rem;
  max-height:70vh; overflow:auto; border:1px solid var(--line); border-radius:6px; padding:14px 16px;
  background:#fcfcfd; }
mark.m { background:var(--measure); border-bottom:3px solid #7f8c8d; padding:1px 0; color:inherit; }
mark.m.s-binding { border-bottom-color:var(--binding); } mark.m.s-intention { border-bottom-color:var(--intention); }
mark.m.s-exploratory { border-bottom-color:var(--exploratory); }
mark.m.dim { background:transparent; border-bottom-color:transparent; color:var(--muted); }
mark.m:target { outline:2px solid #1d2f4f; }
mark.a { background:var(--actor); box-shadow: inset 0 -2px 0 var(--actor-line); border-radius:2px; color:inherit;
  padding:0 1px; }
mark.a.p { background:#e7f6e7; box-shadow: inset 0 -2px 0 #2e8540; }
.legend { display:flex; gap:14px; flex-wrap:wrap; font-size:.85rem; margin:6px 0; }
.legend mark { padding:0 4px; }
.columns { display:grid; grid-template-columns: minmax(0,2fr) minmax(0,1fr); gap:22px; }
@media (max-width: 1000px) { .columns { grid-template-columns: minmax(0, 1fr); } }
svg.chart { max-width:100%; height:auto; font-size:12px; }
svg.chart text { fill:var(--ink); }
svg.chart text.value { fill:var(--muted); }
svg.area-chart rect.bar { fill:#1f5fbf; }
td.side { width:36%; }
td.changes { min-width:150px; }
ul.plain { margin:4px 0; padding-left:20px; }
footer { color:var(--muted); font-size:.8rem; padding:0 28px 24px; }
[hidden] { display:none !important; }
td, th, h1, h2, h3, .subtitle, nav.toc a, .doc-text { overflow-wrap:break-word; }
td.id, td.page { white-space:nowrap; }
.filters select { max-width:100%; }
.filters label.search { flex:1 1 260px; display:flex; align-items:center; gap:6px; }
input.filter-search { flex:1; min-width:0; padding:4px 8px; font-size:.95rem; border:1px solid var(--line);
  border-radius:4px; }
.total-count { font-weight:600; }
section.toolbar { padding:10px 22px; }
section.toolbar .filters { margin:0; }
ul.cell-list { margin:0; padding-left:16px; }
td.amounts, td.deadlines { min-width:110px; }
a.page-link { font-weight:600; }
/* The measure histories: one row per history, one column per compared document (stacked below 700 px). */
.histories { margin-top:26px; }
ol.timeline { list-style:none; margin:0; padding:0; display:grid; gap:18px;
  grid-template-columns: repeat(var(--columns, 2), minmax(0, 1fr)); }
ol.timeline-head li { font-weight:600; font-size:.9rem; border-bottom:2px solid var(--line); padding:4px 0;
  overflow-wrap:break-word; }
ol.history-list { list-style:none; padding:0; margin:0; }
li.history { padding:10px 0; border-bottom:1px solid var(--line); }
ol.timeline > li { position:relative; min-width:0; overflow-wrap:break-word; font-size:.88rem; }
li.step { border:1px solid var(--line); border-top:4px solid #7f8c8d; border-radius:6px; padding:6px 8px;
  background:#fcfcfd; }
li.step.st-first, li.step.st-new { border-top-color:#1f5fbf; }
li.step.st-continued { border-top-color:#2e8540; }
li.step.st-modified { border-top-color:#d9730d; background:#fff8ef; }
li.gap { border-top:4px dotted var(--line); padding:6px 8px; }
li.dropped-marker { border-top:4px solid #c0392b; }
li.step + li.step::before, li.step + li.dropped-marker::before { content:"→"; position:absolute; left:-15px;
  top:38%; color:var(--muted); font-weight:700; }
.step-document { display:none; font-weight:600; font-size:.85rem; }
.step-head { display:flex; gap:6px; align-items:baseline; flex-wrap:wrap; }
.step-text { margin:4px 0; }
details.step-text summary { cursor:pointer; }
details.step-text .more { color:var(--muted); font-size:.8rem; }
details.step-text[open] summary .short, details.step-text[open] summary .more { display:none; }
.step-facts { display:flex; gap:6px; flex-wrap:wrap; align-items:baseline; }
.badge.changed { outline:2px dashed var(--ink); outline-offset:1px; }
.step-amounts { font-weight:600; }
.step-amounts.changed { background:var(--measure); outline:2px dashed var(--ink); padding:0 3px; }
.change { flex-basis:100%; font-size:.8rem; font-weight:600; color:#8a4a00; }
.change::before { content:"▲ "; }
@media (max-width: 700px) {
  ol.timeline { grid-template-columns: minmax(0, 1fr); gap:8px; }
  ol.timeline-head { display:none; }
  li.gap:not(.dropped-marker) { display:none; }
  .step-document { display:block; }
  li.history { border-left:3px solid var(--line); padding-left:8px; margin-bottom:6px; }
  li.step + li.step::before, li.step + li.dropped-marker::before { content:none; }
  header.top, nav.toc, main, footer { padding-left:10px; padding-right:10px; }
  section.card { padding:12px; }
  .filters label, .filters label.search { display:flex; flex-direction:column; align-items:stretch; width:100%;
    flex:1 1 100%; }
  .filters select { margin:2px 0 0; }
  table.cards thead { display:none; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display:block; width:100%; }
  table.cards tr { border:1px solid var(--line); border-radius:6px; margin:0 0 10px; padding:6px 10px; }
  table.cards td { border:0; padding:2px 0; text-align:left; white-space:normal; min-width:0; }
  table.cards td[data-label]::before { content: attr(data-label) ": "; font-weight:600; color:var(--muted); }
  table.cards td.text::before, table.cards td.side::before { display:block; }
  table.cards ul.cell-list { display:inline; padding:0; }
  table.cards ul.cell-list li { display:inline; }
  table.cards ul.cell-list li + li::before { content:"; "; }
  td.side { width:auto; }
  td, th { overflow-wrap:anywhere; }  /* the actors table: a long type name breaks rather than widen the page */
}
"""

JS = """
(function () {
  "use strict";
  var search = document.querySelector("input.filter-search");
  var actor = document.querySelector("select.filter-actor");
  var only = document.querySelector("select.filter-document");
  var total = document.querySelector(".total-count");
  var sections = [];
  function format(template, n, all) { return template.replace("{n}", n).replace("{total}", all); }
  function words() {
    return search && search.value ? search.value.toLowerCase().split(/\\s+/).filter(Boolean) : [];
  }
  function common(row, terms) {
    if (actor && actor.value && row.dataset.actors.indexOf("|" + actor.value + "|") < 0) { return false; }
    for (var i = 0; i < terms.length; i += 1) {
      if (row.dataset.search.indexOf(terms[i]) < 0) { return false; }
    }
    return true;
  }
  function apply() {
    var terms = words();
    var shownAll = 0;
    var all = 0;
    sections.forEach(function (s) {
      var wanted = !only || !only.value || only.value === s.section.id;
      s.section.hidden = !wanted;
      var visible = 0;
      var ok = {};
      s.rows.forEach(function (row) {
        var show = s.own(row) && common(row, terms);
        row.hidden = !show;
        if (show) { visible += 1; ok[row.dataset.measure] = true; }
      });
      s.marks.forEach(function (mark) { mark.classList.toggle("dim", !ok[mark.dataset.measure]); });
      s.count.textContent = format(s.count.dataset.format, visible, s.rows.length);
      if (wanted) { shownAll += visible; all += s.rows.length; }
    });
    if (total) { total.textContent = format(total.dataset.format, shownAll, all); }
  }
  document.querySelectorAll("section.document").forEach(function (section) {
    var focus = section.querySelector("select.filter-focus");
    var strength = section.querySelector("select.filter-strength");
    var rows = Array.prototype.slice.call(section.querySelectorAll("tr.measure-row"));
    var marks = Array.prototype.slice.call(section.querySelectorAll(".doc-text mark.m"));
    sections.push({
      section: section, rows: rows, marks: marks, count: section.querySelector(".count"),
      own: function (el) {
        return (!focus.value || el.dataset.focus === focus.value) &&
               (!strength.value || el.dataset.strength === strength.value);
      }
    });
    focus.addEventListener("change", apply);
    strength.addEventListener("change", apply);
    marks.forEach(function (mark) {
      mark.addEventListener("click", function () {
        var row = section.querySelector("tr.measure-row[data-measure='" + mark.dataset.measure + "']");
        rows.forEach(function (r) { r.classList.toggle("current", r === row); });
        if (row && !row.hidden) { row.scrollIntoView({block: "nearest"}); }
      });
    });
  });
  if (search) { search.addEventListener("input", apply); }
  if (actor) { actor.addEventListener("change", apply); }
  if (only) { only.addEventListener("change", apply); }
  apply();
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="generator" content="tiltak {{ version }}">
<title>{{ title }}</title>
{% macro measure_list(measures, css) %}<ul class="plain {{ css }}">
        {% for m in measures %}
          <li>{{ ref(m.href, m.id) }} {{ m.text }}
            <span class="badge s-{{ m.strength }}">{{ m.strength_label }}</span>
            <span class="muted">{{ m.focus_name }}</span></li>
        {% else %}<li class="muted">{{ t.none }}</li>{% endfor %}
        </ul>{% endmacro %}
{% macro column_title(column) %}{{ column.title }}{% if column.year and column.year|string not in column.title
  %} · {{ column.year }}{% endif %}{% endmacro %}
{% macro ref(href, id) %}{% if href %}<a href="{{ href }}">{{ id }}</a>{% else %}{{ id }}{% endif %}{% endmacro %}
{% macro options(items) %}{% for value, name, n in items %}<option value="{{ value }}">{{ name }} ({{ n }})</option>
{% endfor %}{% endmacro %}
{% macro score(value) %}{% if value is not none %} <span class="muted">{{ "%.2f"|format(value) }}</span>{% endif %}
{% endmacro %}
{% macro items(values) %}{% if values %}<ul class="cell-list">{% for v in values %}<li>{{ v }}</li>{% endfor %}</ul>
{% else %}–{% endif %}{% endmacro %}
{% macro amounts(values) %}{% if values %}<ul class="cell-list">{% for text, title in values %}<li{%
  if title %} title="{{ title }}"{% endif %}>{{ text }}</li>{% endfor %}</ul>{% else %}–{% endif %}{% endmacro %}
<style>{{ css }}</style>
</head>
<body>
<header class="top">
  <h1>{{ title }}</h1>
  <p>{{ documents|length }} {{ t.document if documents|length == 1 else t.documents }} ·
     {{ total_measures }} {{ t.measures_word }} · {{ t.made }} {{ created }} {{ t.with }} tiltak {{ version }}</p>
</header>
{% if documents|length > 1 or comparison %}
<nav class="toc">
  {% if comparison or documents|length > 1 %}<a href="#sammenligning">{{ t.comparison }}</a>{% endif %}
  {% if comparison and comparison.histories %}<a href="#historikk">{{ t.histories }}</a>{% endif %}
  {% for doc in documents %}<a href="#{{ doc.anchor }}">{{ doc.title }}</a>{% endfor %}
</nav>
{% endif %}
<main>
<section class="card toolbar" aria-label="{{ t.search }}">
  <div class="filters">
    <label class="search">{{ t.search }}
      <input type="search" class="filter-search" placeholder="{{ t.search_placeholder }}"
             aria-label="{{ t.search_placeholder }}"></label>
    <label>{{ t.actor }}
      <select class="filter-actor" aria-label="{{ t.filter_actor }}">
        <option value="">{{ t.all_actors }}</option>
        {{ options(actor_options) }}
      </select></label>
    <label>{{ t.document|capitalize }}
      <select class="filter-document" aria-label="{{ t.filter_document }}">
        <option value="">{{ t.all_documents }}</option>
        {% for doc in documents %}<option value="{{ doc.anchor }}">{{ doc.title }} ({{ doc.measures|length }})</option>
        {% endfor %}
      </select></label>
    <span class="total-count" aria-live="polite" data-format="{{ t.count }}">{{
      t.count.replace("{n}", total_measures|string).replace("{total}", total_measures|string) }}</span>
  </div>
</section>
{% if comparison or documents|length > 1 %}
<section class="card comparison" id="sammenligning">
  <h2>{{ t.comparison }}</h2>
  <h3>{{ t.areas_across }}</h3>
  <p class="muted">{{ t.share_note }}</p>
  {{ cross_chart }}
  {% if comparison %}
  {% for pair in comparison.pairs %}
  <div class="pair">
    <h3>{{ pair.a_title }} → {{ pair.b_title }}</h3>
    <div class="stats">
      {% for key in ["continued", "modified", "new", "dropped"] %}
      <span class="stat stat-{{ key }}"><b>{{ pair.counts[key] }}</b>{{ status_labels[key]|lower }}</span>
      {% endfor %}
    </div>
    <table class="aligned cards">
      <thead><tr><th>{{ t.status }}</th><th>{{ t.similarity }}</th><th>{{ t.changed }}</th>
        <th>{{ pair.a_title }}</th><th>{{ pair.b_title }}</th></tr></thead>
      <tbody>
      {% for row in pair.aligned %}
        <tr class="aligned-row" data-status="{{ row.status }}">
          <td><span class="badge st-{{ row.status }}">{{ row.status_label }}</span></td>
          <td class="num" data-label="{{ t.similarity }}">{{
            "–" if row.similarity is none else "%.0f %%"|format(100 * row.similarity) }}</td>
          <td class="changes" data-label="{{ t.changed }}">{{ row.changed|join("; ") if row.changed else "–" }}</td>
          <td class="side side-a" data-label="{{ pair.a_title }}">{{ ref(row.a_href, row.a_id) }} {{ row.a_text }}</td>
          <td class="side side-b" data-label="{{ pair.b_title }}">{{ ref(row.b_href, row.b_id) }} {{ row.b_text }}</td>
        </tr>
      {% else %}
        <tr><td colspan="5" class="muted">{{ t.none_recur }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
    <div class="columns">
      <div>
        <h3>{{ t.new_in }} {{ pair.b_title }} ({{ pair.new|length }})</h3>
        {{ measure_list(pair.new, "new-list") }}
      </div>
      <div>
        <h3>{{ t.dropped_from }} {{ pair.a_title }} ({{ pair.dropped|length }})</h3>
        {{ measure_list(pair.dropped, "dropped-list") }}
      </div>
    </div>
  </div>
  {% endfor %}
  {% if comparison.histories %}
  <div class="histories" id="historikk">
    <h3>{{ t.histories }} ({{ comparison.histories|length }})</h3>
    <p class="muted">{{ t.histories_note }}</p>
    <ol class="timeline timeline-head" style="--columns: {{ comparison.columns|length }}" aria-hidden="true">
      {% for column in comparison.columns %}<li class="column-head">{{ column_title(column) }}</li>{% endfor %}
    </ol>
    <ol class="plain history-list">
    {% for history in comparison.histories %}
      <li class="history" data-history="{{ history.id }}" data-steps="{{ history.steps }}">
        <ol class="timeline" style="--columns: {{ comparison.columns|length }}"
            aria-label="{{ t.history }}: {{ t.history_steps.replace('{n}', history.steps|string) }}">
        {% for cell in history.cells %}
          {% if cell.kind == "step" %}
          <li class="step st-{{ cell.status }}" data-status="{{ cell.status }}" data-measure="{{ cell.measure_id }}">
            <div class="step-document">{{ column_title(cell.column) }}</div>
            <div class="step-head"><span class="badge st-{{ cell.status }}">{{ cell.status_label }}</span>
              {{ ref(cell.href, cell.measure_id) }}{% if cell.similarity is not none %}
              <span class="muted" title="{{ t.similarity }}">{{ "%.0f %%"|format(100 * cell.similarity) }}</span>
              {% endif %}</div>
            {% if cell.short != cell.text %}
            <details class="step-text"><summary title="{{ cell.text }}"><span class="short">{{ cell.short }}</span>
              <span class="more">({{ t.show_full }})</span></summary><span class="full">{{ cell.text }}</span>
            </details>
            {% else %}
            <p class="step-text">{{ cell.text }}</p>
            {% endif %}
            <div class="step-facts">
              <span class="badge s-{{ cell.strength }}{{ ' changed' if cell.strength_changed }}"
                    data-strength="{{ cell.strength }}">{{ cell.strength_label }}</span>
              {% if cell.strength_changed %}<span class="change change-strength">{{ t.strength_changed }}: {{
                cell.previous_strength_label }} → {{ cell.strength_label }}</span>{% endif %}
              {% if cell.amounts %}<span class="step-amounts{{ ' changed' if cell.amounts_changed }}">{{
                cell.amounts|join(", ") }}</span>{% endif %}
              {% if cell.amounts_changed %}<span class="change change-amounts">{{ t.amounts_changed }}: {{
                cell.previous_amounts }} → {{ cell.amounts|join(", ") if cell.amounts else t.no_amounts }}</span>
              {% endif %}
            </div>
          </li>
          {% elif cell.kind == "dropped" %}
          <li class="gap dropped-marker" data-status="dropped">
            <div class="step-document">{{ column_title(cell.column) }}</div>
            <span class="badge st-dropped">{{ cell.status_label }}</span></li>
          {% else %}
          <li class="gap" data-status="{{ cell.kind }}"><span class="muted">{{
            t.not_yet if cell.kind == "before" else t.no_longer }}</span></li>
          {% endif %}
        {% endfor %}
        </ol>
      </li>
    {% endfor %}
    </ol>
  </div>
  {% endif %}
  {% endif %}
</section>
{% endif %}

{% for doc in documents %}
<section class="card document" id="{{ doc.anchor }}" data-document="{{ doc.id }}">
  <h2 class="doc-title">{{ doc.title }}</h2>
  <div class="subtitle">{{ doc.subtitle }}</div>
  {% for warning in doc.warnings %}<div class="warning">{{ t.warning }}: {{ warning }}</div>{% endfor %}
  <div class="stats">
    <span class="stat"><b>{{ doc.measures|length }}</b>{{ t.measures_word }}</span>
    <span class="stat"><b>{{ doc.actors|length }}</b>{{ t.actors_word }}</span>
    <span class="stat"><b>{{ doc.areas|length }}</b>{{ t.areas_word }}</span>
  </div>

  <div class="columns">
    <div>
      <h3>{{ t.focus_areas }}</h3>
      {{ doc.chart }}
      {% if doc.strength_chart %}<h3>{{ t.strengths }}</h3>
      {{ doc.strength_chart }}{% endif %}
    </div>
    <div>
      <h3>{{ t.actors }}</h3>
      <table class="actors">
        <thead><tr><th>{{ t.name }}</th><th>{{ t.type }}</th><th>{{ t.mentions }}</th></tr></thead>
        <tbody>
        {% for actor in doc.actors %}
          <tr class="actor-row" data-kind="{{ actor.kind }}"><td>{{ actor.name }}
            {% if actor.abbreviation %}<span class="muted">({{ actor.abbreviation }})</span>{% endif %}
            {% if actor.forms %}<div class="runner">{{ t.in_text }}: {{ actor.forms|join(", ") }}</div>{% endif %}</td>
            <td>{{ actor.type_label }}</td><td class="num">{{ actor.mentions }}</td></tr>
        {% else %}
          <tr><td colspan="3" class="muted">{{ t.no_actors }}</td></tr>
        {% endfor %}
        </tbody>
      </table>
    </div>
  </div>

  <h3>{{ t.measures }}</h3>
  <div class="filters">
    <label>{{ t.focus_area }}
      <select class="filter-focus" aria-label="{{ t.filter_focus }}">
        <option value="">{{ t.all_areas }}</option>
        {{ options(doc.focus_options) }}
      </select></label>
    <label>{{ t.strength }}
      <select class="filter-strength" aria-label="{{ t.filter_strength }}">
        <option value="">{{ t.all_strengths }}</option>
        {{ options(doc.strength_options) }}
      </select></label>
    <span class="count" aria-live="polite" data-format="{{ t.count }}">{{
      t.count.replace("{n}", doc.measures|length|string).replace("{total}", doc.measures|length|string) }}</span>
  </div>
  <table class="measures cards">
    <thead><tr><th>{{ t.id }}</th><th>{{ t.page }}</th><th>{{ t.strength }}</th><th>{{ t.focus_area }}</th>
      <th>{{ t.responsible }}</th><th>{{ t.actors }}</th><th>{{ t.amounts }}</th><th>{{ t.deadlines }}</th>
      <th>{{ t.measure }}</th></tr></thead>
    <tbody>
    {% for m in doc.measures %}
      <tr class="measure-row" data-measure="{{ m.id }}" data-focus="{{ m.focus }}" data-strength="{{ m.strength }}"
          data-actors="{{ m.actor_keys }}" data-search="{{ m.search }}">
        <td class="id"><a href="#{{ m.anchor }}">{{ m.id }}</a></td>
        <td class="num page" data-label="{{ t.page }}">{% if m.page_href %}<a class="page-link"
          href="{{ m.page_href }}" title="{{ t.page_link.replace('{page}', m.page|string) }}">{{ m.page }}</a>
          {%- else %}{{ m.page or "–" }}{% endif %}</td>
        <td data-label="{{ t.strength }}"><span class="badge s-{{ m.strength }}">{{ m.strength_label }}</span></td>
        <td data-label="{{ t.focus_area }}">{{ m.focus_name }}{{ score(m.score) }}
          {% if m.runner_up %}<div class="runner">{{ t.otherwise }}: {{ m.runner_up }}{{ score(m.runner_up_score) }}
          </div>{% endif %}
        </td>
        <td class="responsible" data-label="{{ t.responsible }}">{{ m.responsible or "–" }}</td>
        <td class="actors" data-label="{{ t.actors }}">{{ m.actors|join(", ") if m.actors else "–" }}</td>
        <td class="amounts" data-label="{{ t.amounts }}">{{ amounts(m.amounts) }}</td>
        <td class="deadlines" data-label="{{ t.deadlines }}">{{ items(m.deadlines) }}</td>
        <td class="text" data-label="{{ t.measure }}">{{ m.text }}
          {% if m.section %}<div class="runner">{{ m.section }}</div>{% endif %}
          {% for name, value in m.extras %}<div class="runner extra">{{ name }}: {{ value }}</div>{% endfor %}
        </td>
      </tr>
    {% else %}
      <tr><td colspan="9" class="muted">{{ t.no_measures }}</td></tr>
    {% endfor %}
    </tbody>
  </table>

  <h3>{{ t.doc_text }}</h3>
  <div class="legend">
    <span><mark class="m s-binding">{{ t.measure }}</mark> ({{ t.line }}: <span class="badge s-binding">{{
      strength_labels.binding }}</span>
      <span class="badge s-intention">{{ strength_labels.intention }}</span> <span class="badge s-exploratory">{{
      strength_labels.exploratory }}</span>)</span>
    <span><mark class="a">{{ t.actor }}</mark></span>
    <span><mark class="a p">{{ t.person }}</mark></span>
  </div>
  <div class="doc-text" lang="{{ doc.language }}">{{ doc.text_html }}</div>
</section>
{% endfor %}
</main>
<footer>{{ t.footer }}
</footer>
<script>{{ js }}</script>
</body>
</html>
"""

_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_PAGE = _ENV.from_string(PAGE)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    return (f"default-src 'none'; script-src 'sha256-{digest}'; style-src 'unsafe-inline'; img-src data:; "
            "font-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")


def _actor_options(views: Sequence[DocumentView]) -> list[tuple[str, str, int]]:
    """Every actor named in or responsible for a measure, with its number of measures, most first."""
    counts: Counter[str] = Counter()
    for view in views:
        for row in view.measures:
            counts.update(name for name in row["actor_keys"].strip("|").split("|") if name)
    return [(name, name, n) for name, n in sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))]


def render_report(documents: Sequence[DocumentResult], comparison: Any = None, *, title: str | None = None,
                  lang: str = "nb", base_dir: Path | None = None) -> str:
    """The whole report as one HTML string. ``comparison`` is pipeline.research.compare's result, its JSON as a dict, or
    None; with two or more documents and no comparison the page still charts focus areas across documents.
    ``lang`` is the interface language (nb or en); ``base_dir`` the folder the report goes to, for links to PDF
    pages (none without it)."""
    if lang not in LANGUAGES:
        raise TiltakError(f"unknown report language {lang!r}: use one of {', '.join(LANGUAGES)}")
    token = _LANG.set(lang)
    try:
        names = _area_names(documents)
        views = [_document_view(i, d, names, base_dir) for i, d in enumerate(documents, start=1)]
        compared = comparison_view(comparison, documents, names) if comparison is not None else None
        if compared is not None:
            cross_chart = compared.chart
        elif len(views) > 1:
            cross_chart = _documents_chart(views)
        else:
            cross_chart = Markup("")
        if title is None:
            title = f"{_t('report')}: {views[0].title}" if len(views) == 1 else _t("report")
        return _PAGE.render(
            title=title, documents=views, comparison=compared, cross_chart=cross_chart,
            total_measures=sum(len(v.measures) for v in views), status_labels=_labels("status"),
            strength_labels=_labels("strength"), actor_options=_actor_options(views), t=TEXTS[lang], lang=lang,
            created=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
            css=Markup(CSS), js=Markup(JS), csp=_csp(),
        )
    finally:
        _LANG.reset(token)


def write_report(path: Path, documents: Sequence[DocumentResult], comparison: Any = None, *,
                 title: str | None = None, lang: str = "nb") -> Path:
    """Write the report to ``path``; links to PDF pages are relative to its folder."""
    html = render_report(documents, comparison, title=title, lang=lang, base_dir=path.parent)
    return atomic_write_text(path, html)

"""The output contract: one JSON document per input, described by these pydantic models.

The published JSON Schema (``pipeline/schemas/``) is generated from these models by ``tiltak schema --write``;
a test fails when the committed file and the models disagree, so the two are never edited apart.

Offsets: every ``start``/``end`` is a character offset (Python ``str`` index, end exclusive) into the
document's normalised ``text``; ``text[start:end]`` is exactly the item's text.

Versioning: ``SCHEMA_VERSION`` follows semantic versioning. Adding an optional field is a minor bump;
renaming, removing or retyping a field is a major bump and gets a new schema file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.2.0"
SCHEMA_ID = f"https://tiltak.invalid/schemas/tiltak-document-{SCHEMA_VERSION}.schema.json"

Offset = Annotated[int, Field(ge=0)]
Page = Annotated[int, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False, use_enum_values=True)


class BlockKind(StrEnum):
    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"


class Strength(StrEnum):
    """How binding a commitment is (see eval/GUIDELINES.md)."""

    BINDING = "binding"
    INTENTION = "intention"
    EXPLORATORY = "exploratory"


class DocumentType(StrEnum):
    MELDING = "melding_til_stortinget"
    PROPOSISJON = "proposisjon"
    INNSTILLING = "innstilling"
    NOU = "nou"
    STRATEGI = "strategi"
    HANDLINGSPLAN = "handlingsplan"
    VEIKART = "veikart"
    NYHET = "nyhet"
    UNKNOWN = "ukjent"


class Language(StrEnum):
    BOKMAAL = "nb"
    NYNORSK = "nn"
    OTHER = "other"
    UNKNOWN = "unknown"


class Span(_Model):
    start: Offset
    end: Offset
    page: Page | None = Field(description="1-based page of the span's first character; null for sources without pages.")


class Block(Span):
    """A structural unit of the normalised text. List items exclude their marker; ``marker`` keeps it."""

    id: str
    kind: BlockKind
    page_end: Page | None = None
    level: int | None = Field(default=None, description="Heading level (1 = title), or list nesting depth.")
    list_id: str | None = None
    marker: str | None = None
    intro_block: str | None = Field(
        default=None, description="For a list item: the id of the line that introduces its list, if any."
    )


class Measure(Span):
    """One policy action the author commits to (a tiltak)."""

    id: str
    text: str
    strength: Strength | None = Field(
        default=None, description="binding / intention / exploratory; null if not assessed."
    )
    focus_area: str | None = Field(
        default=None, description="Label from the focus-area (domain) taxonomy; null if not classified or if the "
        "measure's policy area lies outside the taxonomy's scope."
    )
    focus_area_score: float | None = Field(default=None, ge=0.0, le=1.0)
    focus_area_runner_up: str | None = Field(default=None, description="The second most likely focus area.")
    focus_area_runner_up_score: float | None = Field(default=None, ge=0.0, le=1.0)
    policy_area: int | None = Field(
        default=None, description="Policy area: the Comparative Agendas Project (CAP) major topic code (1–23); null "
        "if not classified.")
    policy_area_label: str | None = Field(default=None, description="The policy area's Norwegian label.")
    policy_area_score: float | None = Field(default=None, ge=0.0, le=1.0)
    policy_area_runner_up: int | None = Field(default=None, description="The second most likely policy area.")
    policy_area_runner_up_score: float | None = Field(default=None, ge=0.0, le=1.0)
    actors: list[str] = Field(default_factory=list, description="Canonical names of the actors named in the measure.")
    block_id: str | None = Field(default=None, description="The block the measure was found in.")
    section: list[str] = Field(default_factory=list, description="Heading path above the measure, outermost first.")
    intro: str | None = Field(default=None, description="The line that introduces the measure's list, if any.")
    verb: str | None = Field(default=None, description="Lemma of the action verb (or the deciding wording).")
    object: str | None = Field(default=None, description="The object phrase the action applies to.")
    method: str = Field(description="Which extraction rule found the measure (e.g. 'list_under_intro'), or 'model' "
                        "when the trained measure detector decided (measure_detector = \"model\").")
    confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="The measure detector's probability "
                                     "that this is a measure; null for a measure the rules found.")


class Mention(Span):
    text: str


class Actor(_Model):
    name: str = Field(description="Canonical name.")
    type: str = Field(description="ministry, directorate, state_enterprise, company, interest_organisation, "
                                  "parliament, government, ... (see extractors/data/actors.yaml); person for people.")
    source: Literal["gazetteer", "pattern", "ner"] = Field(
        default="gazetteer", description="gazetteer: a known body with a canonical name; pattern: a name rule of the "
        "gazetteer (committees, titled persons); ner: found by the NER model.")
    abbreviation: str | None = None
    mentions: list[Mention] = Field(default_factory=list)


class Amount(Span):
    text: str
    nok: float | None = Field(default=None, description="The amount in Norwegian kroner, when it could be normalised.")
    approximate: bool = Field(default=False, description="A round figure ('ti-talls millioner'): nok is its floor.")
    period: str | None = Field(
        default=None, description="per_year, over_<n>_years, multi_year, in_year, from_year; null if not stated.")
    year: int | None = Field(default=None, description="The year the amount is for, when stated.")


class Deadline(Span):
    text: str
    year: int
    kind: Literal["by", "during", "from", "in"] = Field(
        description="by: 'innen 2025'; during: 'i løpet av 2024'; from: 'fra 2026'; in: 'i 2027', 'høsten 2026'.")


class Commitment(_Model):
    measure_id: str
    strength: Strength | None = None
    modality: str | None = Field(default=None, description="The wording that sets the strength (e.g. 'vurdere').")
    responsible: str | None = Field(default=None, description="Canonical name of the responsible actor, if stated.")
    amounts: list[Amount] = Field(default_factory=list)
    deadlines: list[Deadline] = Field(default_factory=list)


class DocumentInfo(_Model):
    id: str = Field(description="Stable id: the output file's stem.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    source_path: str
    file_name: str
    format: Literal["pdf", "html", "docx", "text"]
    size_bytes: int = Field(ge=0)
    encoding: str | None = Field(default=None, description="Encoding used to decode a text or HTML source.")
    title: str | None = None
    document_type: DocumentType
    language: Language
    page_count: int | None = Field(default=None, ge=1, description="null for sources without pages.")
    char_count: int = Field(ge=0)
    warnings: list[str] = Field(default_factory=list)
    date: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}(-\d{2})?$", description=(
        "The document's date (ISO 8601: YYYY-MM-DD, or YYYY-MM when only the month is stated), from a sidecar, the "
        "page's metadata (HTML meta tags, <time datetime>) or the title page; a PDF's or DOCX's creation date only "
        "as a fallback. metadata_sources.date says which."))
    year: int | None = Field(default=None, ge=1000, le=9999, description=(
        "The document's year: the date's, else the first year of the parliamentary session in its identifier "
        "(Prop. 1 LS (2025–2026): 2025) or the NOU's year."))
    identifier: str | None = Field(default=None, description=(
        "The official identifier on the title page, normalised: 'Meld. St. 18 (2018–2019)', 'Prop. 1 LS "
        "(2025–2026)', 'Innst. 123 S (2024–2025)', 'NOU 2023: 4', 'St.meld. nr. 7 (2008–2009)'."))
    issuer: str | None = Field(default=None, description="Who published the document (a sidecar's issuer, or an HTML "
                               "page's dc.publisher / dc.creator).")
    source_url: str | None = Field(default=None, description="The address a fetched document came from.")
    inbox_path: str | None = Field(default=None, description="An ingested inbox file's original path.")
    metadata_sources: dict[str, str] = Field(default_factory=dict, description=(
        "Where each of title, date, year, identifier, issuer, document_type, source_url came from: 'sidecar "
        "<file>', 'metadata.csv <file> line <n>', 'html-meta', 'title-page', 'identifier', 'pdf-created', "
        "'docx-created', 'ingest' (only fields that were set by something other than the default detection)."))


class NlpModelInfo(_Model):
    name: str
    version: str
    kind: Literal["upstream", "shipped", "external", "blank"] = Field(
        description="upstream: an installed spaCy model package (nb_core_news_*); shipped: the project's model (its "
        "checksums pinned in the package); external: any other pipeline folder; blank: a tokenizer-only pipeline."
    )
    components: list[str] = Field(default_factory=list)


class ClassifierInfo(_Model):
    name: str
    version: str
    taxonomy: str | None = None
    taxonomy_version: str | None = None
    threshold: float | None = Field(default=None, description="Below this score a measure gets the fallback area.")
    artifact_sha256: str | None = None
    origin: Literal["shipped", "local", "external"] | None = Field(
        default=None, description="Where the classifier comes from: shipped (the project's model, its sha256 pinned "
        "in the package), local (trained on this machine by `tiltak train-classifier`) or external (anything else, "
        "loaded only with --trust-classifier).")


class FocusAreaSummary(_Model):
    """One focus area of the document: how many of its measures fall there, and which."""

    label: str
    name: str
    count: int = Field(ge=0)
    share: float = Field(ge=0.0, le=1.0)
    measures: list[str] = Field(description="Ids of the measures in this area.")


class PolicyAreaSummary(_Model):
    """One policy area (CAP major topic) of the document: how many of its measures fall there, and which."""

    code: int
    label: str
    count: int = Field(ge=0)
    share: float = Field(ge=0.0, le=1.0)
    measures: list[str] = Field(description="Ids of the measures in this policy area.")


class OcrInfo(_Model):
    """Pages of a PDF that had no text layer and were read by OCR (``--ocr``)."""

    engine: Literal["tesseract"]
    version: str
    language: str = Field(description="Tesseract's language model, e.g. 'nor'.")
    pages: list[int] = Field(description="The pages read by OCR (1-based).")
    mean_confidence: float = Field(ge=0.0, le=100.0, description="Tesseract's confidence averaged over the "
                                   "recognised characters (0–100).")


class Provenance(_Model):
    tool: Literal["tiltak"] = "tiltak"
    tool_version: str
    schema_version: str = SCHEMA_VERSION
    nlp_model: NlpModelInfo
    classifier: ClassifierInfo | None = None
    policy_area_classifier: ClassifierInfo | None = Field(
        default=None, description="The policy-area (CAP) classifier; its taxonomy is the policy-area taxonomy.")
    ocr: OcrInfo | None = Field(default=None, description="Set when pages without a text layer were read by OCR.")
    config_hash: str
    created_at: str = Field(description="UTC timestamp (ISO 8601) of the analysis.")
    timings: dict[str, float] = Field(default_factory=dict, description="Seconds spent per stage.")


class DocumentResult(_Model):
    """The whole output for one input document."""

    model_config = ConfigDict(
        extra="forbid",
        use_enum_values=True,
        json_schema_extra={"$id": SCHEMA_ID, "$schema": "https://json-schema.org/draft/2020-12/schema"},
        title="tiltak document",
    )

    schema_version: str = SCHEMA_VERSION
    document: DocumentInfo
    text: str = Field(description="The normalised text; all offsets point into it.")
    blocks: list[Block]
    measures: list[Measure]
    actors: list[Actor] = Field(description="Organisations and public bodies (not persons), canonical names.")
    persons: list[Actor] = Field(default_factory=list, description="People named in the text (e.g. ministers).")
    commitments: list[Commitment]
    focus_areas: list[FocusAreaSummary] = Field(
        default_factory=list, description="The document's measures over focus areas, largest first.")
    policy_areas: list[PolicyAreaSummary] = Field(
        default_factory=list, description="The document's measures over policy areas (CAP major topics), largest "
        "first.")
    provenance: Provenance


def document_json_schema() -> dict:
    return DocumentResult.model_json_schema(mode="serialization")

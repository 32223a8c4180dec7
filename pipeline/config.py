"""Run settings: what the pipeline does, read from defaults, an optional TOML file and the command line.

Everything that changes an output enters the config hash, so a cached result is only reused for the same
settings: the settings themselves and the bytes of every data file the extractors read.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from pipeline.errors import TiltakError

PIPELINE_DATA = Path(__file__).parent / "data"
EXTRACTOR_DATA = Path(__file__).parent.parent / "extractors" / "data"
MODELS = Path(__file__).parent.parent / "models"


class PipelineConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    nlp: str = Field(
        default="best",
        description="spaCy pipeline: 'best' (installed nb_core_news lg > md > sm, else the shipped model, else "
        "a blank tokenizer), a package name such as 'nb_core_news_md', a model directory, or 'blank'.",
    )
    list_intros: Path = EXTRACTOR_DATA / "list_intros.yaml"
    prose_measures: Path = EXTRACTOR_DATA / "prose_measures.yaml"
    commitments: Path = EXTRACTOR_DATA / "commitments.yaml"
    actors: Path = EXTRACTOR_DATA / "actors.yaml"
    taxonomy: Path = MODELS / "focus_area" / "data" / "taxonomy.yaml"
    classifier: Path = Field(default=MODELS / "focus_area",
                             description="Folder of the focus-area classifier (card.json and its skops artifact).")
    trust_classifier: bool = Field(
        default=False, description="Load a classifier that is neither the shipped one nor trained here by `tiltak "
        "train-classifier` (an external one). Its types are checked all the same: none can run code.")
    trust_nlp: bool = Field(
        default=False, description="Load a spaCy pipeline folder whose config names factories or registered "
        "functions from outside spaCy and tiltak (an installed package's code would run), or sources components.")
    measure_detector: Literal["rules", "model", "hybrid"] = Field(
        default="rules", description="Who decides which candidates are measures: 'rules' (the hand-written list, prose "
        "and table rules), 'model' (the trained detector in measure_model, with the rules among its features) or "
        "'hybrid' (the rules' measures kept, the detector adds the candidates it is confident of).")
    measure_model: Path = Field(default=MODELS / "measures", description="Folder of the measure detector (card.json "
                                "and its skops artifact); read when measure_detector = 'model'.")
    min_confidence: float | None = Field(
        default=None, ge=0.0, le=1.0, description="With measure_detector = 'model' or 'hybrid': keep the measures "
        "the detector gives at least this confidence (default: the threshold in its card, chosen in cross-validation; "
        "the hybrid keeps every rule measure).")
    policy_areas: Path = Field(default=MODELS / "policy_area" / "data" / "policy_areas.yaml",
                               description="The policy-area taxonomy (CAP major topics).")
    policy_model: Path = Field(default=MODELS / "policy_area", description="Folder of the policy-area classifier "
                               "(card.json and its skops artifact).")
    document_types: Path = PIPELINE_DATA / "document_types.yaml"
    languages: Path = PIPELINE_DATA / "languages.yaml"
    pdf_backend: Literal["pdfplumber", "pdfium", "pypdfium2"] = Field(
        default="pdfium", description="PDF text extraction: 'pdfplumber' reads each line's position, font size "
        "and weight (headings, running headers, paragraphs); 'pdfium' does the same layout reading from pdfium's "
        "characters, several times faster; 'pypdfium2' reads plain text lines, faster still, with less structure.")
    ocr: bool = Field(
        default=False, description="Read PDF pages without a text layer (scans) by OCR: Tesseract with its Norwegian "
        "data (the ocr extra, and apt-get install tesseract-ocr tesseract-ocr-nor); about a second or two per page.")
    max_bytes: int = Field(default=200_000_000, ge=1, description="A file larger than this many bytes is refused "
                           "before it is read (its size is taken from the file system).")
    max_pages: int = Field(default=1000, ge=1, description="A PDF with more pages is refused before its pages "
                           "are read.")
    max_seconds_per_document: float = Field(
        default=600.0, gt=0, description="A document still being processed after this many seconds is stopped "
        "(checked between PDF pages and between stages) and recorded as failed; the batch goes on.")
    max_chars: int = Field(default=20_000_000, ge=1, description="A document with more characters of text is "
                           "refused before the NLP stage.")
    max_memory_mb: int = Field(
        default=4096, ge=0, description="Memory (address space, MB) of each worker process that analyses documents, "
        "its models included: a document that needs more fails with 'out of memory'; the batch goes on. 0: no limit.")

    @cached_property
    def config_hash(self) -> str:
        """sha256 over the settings and the content of every data file they point to."""
        digest = hashlib.sha256()
        # The trust flags decide whether a model may load and the memory limit whether an analysis finishes, not
        # what an analysis contains: both stay out of the hash.
        excluded = {*self._data_files(), *self._trust_flags(), "max_memory_mb"}
        if self.measure_detector == "rules":  # the default: the same hash (and cached analyses) as before the model
            excluded |= {"measure_detector", "measure_model", "min_confidence"}
        digest.update(json.dumps(self.model_dump(mode="json", exclude=excluded), sort_keys=True).encode())
        for name in sorted(self._data_files()):
            path: Path = getattr(self, name)
            digest.update(name.encode())
            try:
                digest.update(path.read_bytes())
            except OSError as exc:
                raise TiltakError(f"{path}: cannot read the {name} file: {exc.strerror or exc}") from exc
        # The classifier's card names its artifact's sha256: a retrained classifier changes the hash.
        card = self.classifier / "card.json"
        digest.update(card.read_bytes() if card.is_file() else b"no classifier")
        policy_card = self.policy_model / "card.json"  # a retrained policy-area classifier changes the hash
        digest.update(policy_card.read_bytes() if policy_card.is_file() else b"no policy-area classifier")
        if self.measure_detector != "rules":  # a retrained detector changes the hash
            detector_card = self.measure_model / "card.json"
            digest.update(detector_card.read_bytes() if detector_card.is_file() else b"no detector")
        return digest.hexdigest()

    @staticmethod
    def _trust_flags() -> tuple[str, ...]:
        return ("trust_classifier", "trust_nlp")

    @staticmethod
    def _data_files() -> tuple[str, ...]:
        return ("list_intros", "prose_measures", "commitments", "actors", "taxonomy", "document_types",
                "languages", "policy_areas")

    @classmethod
    def from_toml(cls, path: Path, **overrides) -> PipelineConfig:
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise TiltakError(f"{path}: cannot read config: {exc}") from exc
        values = values.get("tiltak", values)
        base = path.parent
        for name in (*cls._data_files(), "classifier", "measure_model", "policy_model"):
            if name in values:
                if not isinstance(values[name], str):
                    raise TiltakError(f"{path}: {name}: must be a path (a string), not {values[name]!r}")
                values[name] = (base / values[name]).resolve()
        return cls(**{**values, **{k: v for k, v in overrides.items() if v is not None}})

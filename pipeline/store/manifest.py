"""The run manifest: one JSON per run saying what happened to every input document."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from pipeline.io import display_path
from pipeline.schema import NlpModelInfo

MANIFEST_SCHEMA_VERSION = "1.1.0"  # 1.1.0: documents[].warnings

DocumentStatus = Literal["processed", "cached", "duplicate", "failed"]
RunStatus = Literal["running", "completed", "failed", "interrupted"]


class DocumentRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str
    status: DocumentStatus = Field(
        description="processed: analysed in this run; cached: an identical earlier analysis was reused; "
        "duplicate: same content as another input of this run (see duplicate_of); failed: see stage and error."
    )
    sha256: str | None = None
    output: str | None = Field(default=None, description="Path of the document JSON, relative to the output folder.")
    duplicate_of: str | None = None
    analysed_in_run: str | None = Field(
        default=None,
        description="The run_id of the run whose analysis this output is: this run when processed, an earlier "
        "(possibly killed) run when cached. Each analysis is made once and is traceable to one run.",
    )
    stage: str | None = Field(default=None, description="The stage that failed (load, structure, nlp, extract, ...).")
    error: str | None = None
    measures: int | None = None
    seconds: float | None = None
    warnings: list[str] = Field(
        default_factory=list, description="What the reader should know about how the document was read (a page "
        "that could not be read and was skipped, a missing text layer, an encoding fallback): the document's "
        "own warnings, repeated here so a batch's problems show in one file.")

    @field_validator("source", "output", "duplicate_of", "error")
    @classmethod
    def _valid_text(cls, value: str | None) -> str | None:
        # A file name that is not valid UTF-8 is kept readable, with U+FFFD for its undecodable bytes.
        return None if value is None else display_path(value)


class SkippedRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="The path as found (a file name that is not valid UTF-8 has U+FFFD for its "
                                  "undecodable bytes).")
    reason: str = Field(description="Why it was not read: a symbolic link not followed, a named pipe, ...")

    @field_validator("path", "reason")
    @classmethod
    def _valid_text(cls, value: str) -> str:
        return display_path(value)


class RunManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", title="tiltak run manifest")

    manifest_version: str = MANIFEST_SCHEMA_VERSION
    run_id: str
    flow_run_id: str | None = None
    tool_version: str
    schema_version: str
    status: RunStatus = Field(
        default="completed",
        description="running: the run is going on, or was killed (the manifest is rewritten atomically after every "
        "document, so it lists the documents finished so far); completed: every input is accounted for; failed: "
        "the run stopped on an error; interrupted: the run was stopped by SIGINT or SIGTERM (it lists the documents "
        "finished before; running it again finishes the rest). Manifests written before this field existed were "
        "completed runs.",
    )
    started_at: str
    finished_at: str | None = None
    out_dir: str
    config_hash: str
    settings: dict
    nlp_model: NlpModelInfo | None = None
    documents: list[DocumentRecord] = Field(default_factory=list)
    skipped: list[SkippedRecord] = Field(
        default_factory=list,
        description="Paths under the inputs that were not read, each with its reason: symbolic links not followed "
        "(or leading outside the folder), named pipes, sockets, devices, unreadable folders. Not documents: they "
        "are not in documents or counts.",
    )

    @computed_field
    @property
    def counts(self) -> dict[str, int]:
        counts = {"processed": 0, "cached": 0, "duplicate": 0, "failed": 0}
        for record in self.documents:
            counts[record.status] += 1
        return counts

    @property
    def failed(self) -> list[DocumentRecord]:
        return [r for r in self.documents if r.status == "failed"]

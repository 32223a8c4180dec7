"""The focus-area taxonomy: data a user can replace (``--taxonomy FILE.yaml``), validated when loaded."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipeline.errors import TiltakError
from pipeline.io import parse_yaml

DEFAULT_TAXONOMY = Path(__file__).resolve().parents[2] / "models" / "focus_area" / "data" / "taxonomy.yaml"


class TaxonomyLabel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    covers: str
    keywords: list[str] = Field(default_factory=list)


class Taxonomy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    version: str
    description: str = ""
    fallback: str = Field(description="The label for measures no other label fits, and below the threshold.")
    labels: list[TaxonomyLabel] = Field(min_length=2)
    scope: list[int] | None = Field(
        default=None, description="The policy areas (CAP major topic codes) this domain taxonomy covers: a measure "
        "whose policy area lies outside gets no focus area (null). None: every policy area.")

    def in_scope(self, policy_area: int | None) -> bool:
        return self.scope is None or policy_area is None or policy_area in self.scope

    @model_validator(mode="after")
    def _consistent(self) -> Taxonomy:
        ids = [label.id for label in self.labels]
        if len(set(ids)) != len(ids):
            raise ValueError(f"label ids are not unique: {sorted({i for i in ids if ids.count(i) > 1})}")
        if self.fallback not in ids:
            raise ValueError(f"fallback {self.fallback!r} is not one of the labels")
        return self

    @property
    def ids(self) -> list[str]:
        return [label.id for label in self.labels]

    def display_name(self, label_id: str) -> str:
        return next((label.name for label in self.labels if label.id == label_id), label_id)


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error in one line, with the line it points at: PyYAML's own message spans several."""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem} (line {mark.line + 1})" if mark is not None else problem


@cache
def load_taxonomy(path: Path = DEFAULT_TAXONOMY) -> Taxonomy:
    """The taxonomy at ``path``, parsed as data only (``yaml.safe_load``: a ``!!python/...`` tag is refused, never
    run) and validated."""
    try:
        data = parse_yaml(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise TiltakError(f"{path}: cannot read the taxonomy: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise TiltakError(f"{path}: cannot read the taxonomy: {yaml_problem(exc)}") from exc
    try:
        return Taxonomy.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'/'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in exc.errors())
        raise TiltakError(f"{path}: not a valid taxonomy: {problems}") from exc


def taxonomy_hash(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()

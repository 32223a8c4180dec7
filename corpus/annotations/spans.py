"""Annotations of real pages as offsets (issue #15): turn an annotator's scratch file of quoted spans into a
committed annotation file of character offsets, labels and the text's sha256, and check committed files.

The texts stay in ``../shared/corpora/policy-pages/texts`` (never committed). An annotator writes a scratch file
OUTSIDE the repository, quoting each measure as it appears in the text:

    {"id": "a-001-…", "annotator": "A", "pass": "first",
     "has_measures": true,
     "measures": [{"quote": "…exact text of the measure…", "occurrence": 1, "strength": "binding",
                   "policy_area": 7, "focus_area": null, "actors": ["Regjeringen"]}],
     "actors": ["Regjeringen", "Miljødirektoratet"],
     "notes": "in the annotator's own words, no copied sentences"}

    python corpus/annotations/spans.py build SCRATCH.json [SCRATCH.json …]
    python corpus/annotations/spans.py check

``build`` finds each quote in the text (exactly, or with runs of whitespace in the quote matching any whitespace in
the text), takes the ``occurrence``-th match (1 = first, the default), drops a final period and surrounding spaces
from the span (GUIDELINES: final period dropped), and writes ``corpus/annotations/policy-pages/<pass>/<id>.json``
with ``start``/``end`` offsets instead of the quote. A quote that is not found is reported with the file and the
measure's number, and nothing is written for that page.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEXTS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "policy-pages" / "texts"
OUT = ROOT / "policy-pages"
PASSES = ("first", "second", "adjudicated")
STRENGTHS = ("binding", "intention", "exploratory")
# Comparative Agendas Project major topic codes (issue #18).
CAP_CODES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 23)


def text_of(page_id: str) -> str:
    return (TEXTS / f"{page_id}.txt").read_text(encoding="utf-8")


def sha256_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _quote_pattern(quote: str) -> re.Pattern[str]:
    # Each run of whitespace in the quote matches one run of whitespace in the text: no nested quantifiers.
    parts = [re.escape(part) for part in quote.split()]
    return re.compile(r"\s+".join(parts))


def find_span(text: str, quote: str, occurrence: int = 1) -> tuple[int, int] | None:
    matches = list(_quote_pattern(quote.strip()).finditer(text))
    if len(matches) < occurrence or occurrence < 1:
        return None
    start, end = matches[occurrence - 1].span()
    while end > start and text[end - 1] in " \t\n.":
        end -= 1
    return start, end


def label_errors(measure: dict) -> list[str]:
    errors = []
    if measure.get("strength") not in STRENGTHS:
        errors.append(f"strength {measure.get('strength')!r} not one of {STRENGTHS}")
    if measure.get("policy_area") not in CAP_CODES:
        errors.append(f"policy_area {measure.get('policy_area')!r} not a CAP major topic code")
    return errors


def build(scratch_path: Path) -> list[str]:
    scratch = json.loads(scratch_path.read_text(encoding="utf-8"))
    page_id = scratch["id"]
    text = text_of(page_id)
    errors, measures = [], []
    for number, measure in enumerate(scratch.get("measures", []), start=1):
        span = find_span(text, measure["quote"], int(measure.get("occurrence", 1)))
        if span is None:
            errors.append(f"{scratch_path}: measure {number}: quote not found in {page_id}.txt")
            continue
        errors.extend(f"{scratch_path}: measure {number}: {e}" for e in label_errors(measure))
        measures.append({"start": span[0], "end": span[1], "strength": measure.get("strength"),
                         "policy_area": measure.get("policy_area"), "focus_area": measure.get("focus_area"),
                         "actors": sorted(set(measure.get("actors", [])))})
    pass_name = scratch.get("pass", "first")
    if pass_name not in PASSES:
        errors.append(f"{scratch_path}: pass {pass_name!r} not one of {PASSES}")
    if errors:
        return errors
    measures.sort(key=lambda m: m["start"])
    annotation = {"id": page_id, "sha256": sha256_of(text), "annotator": scratch.get("annotator"),
                  "pass": pass_name, "has_measures": bool(measures), "measures": measures,
                  "actors": sorted(set(scratch.get("actors", []))), "notes": scratch.get("notes", "")}
    target = OUT / pass_name / f"{page_id}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(".tmp")
    temporary.write_text(json.dumps(annotation, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    temporary.replace(target)
    return []


def check() -> list[str]:
    errors = []
    for path in sorted(OUT.glob("*/*.json")):
        annotation = json.loads(path.read_text(encoding="utf-8"))
        text = text_of(annotation["id"])
        if sha256_of(text) != annotation["sha256"]:
            errors.append(f"{path}: the text's sha256 differs from the annotated one")
        for number, measure in enumerate(annotation["measures"], start=1):
            if not 0 <= measure["start"] < measure["end"] <= len(text):
                errors.append(f"{path}: measure {number}: offsets outside the text")
            errors.extend(f"{path}: measure {number}: {e}" for e in label_errors(measure))
    return errors


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("build", "check"):
        print(__doc__)
        return 2
    errors = check() if argv[0] == "check" else [e for p in argv[1:] for e in build(Path(p))]
    for error in errors:
        print(error, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

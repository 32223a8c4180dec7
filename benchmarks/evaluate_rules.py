"""The rule extractor (``measure_detector = "rules"``) on real text, scored honestly (issue #15).

    python benchmarks/evaluate_rules.py [--split dev|held-out|both] [--no-real-docs] [--no-seeds]
                                        [--cache DIR] [--dump FILE]

The annotated real pages (``corpus/annotations/policy-pages``: adjudicated/ID.json where present, else first/ID.json;
the texts in ``../shared/corpora/policy-pages/texts``) are split by site: a site is HELD-OUT when
``int(sha256(site)[:8], 16) % 3 == 0``. Rules are tuned and their errors read on the dev sites only; the held-out
sites are only ever scored. For each split the script prints precision, recall and F1 (a measure matches a gold
one at token overlap ≥ 0.8, ``pipeline.analysis.evaluation.score_document``, as models/measures/train.py scores),
strength accuracy on matched measures and false measures per page on pages without a measure, overall and by language
(nb/nn); then the real documents' partial gold (``../shared/corpora/real-docs/*.pages.gold.json``, found / gold on
the gold pages, as tests/test_real_docs.py counts) and the seeds (``../shared/eval/seeds``).

Reading and parsing are cached in ``--cache`` (default: a folder under the system's temporary directory), keyed by
the file's sha256 and the spaCy pipeline: the 419-page budget proposition takes minutes the first time, seconds
after. Only the extraction, which is what the rules change, runs every time. ``--dump FILE`` writes the dev split's
missed and spurious measures (JSON) for error analysis; it refuses to dump the held-out split. Never commit a dump:
it holds page text.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.analysis.evaluation import Accuracy, Counts, evaluate, score_document  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402

SHARED = REPO.parent / "shared"
PAGES = SHARED / "corpora" / "policy-pages" / "texts"
REAL_DOCS = SHARED / "corpora" / "real-docs"
SEEDS = SHARED / "eval" / "seeds"
ANNOTATIONS = REPO / "corpus" / "annotations" / "policy-pages"
SOURCES = REPO / "corpus" / "annotations" / "policy-pages-sources.jsonl"
DEV, HELD_OUT = "dev", "held-out"


def split_of(site: str) -> str:
    """HELD-OUT for a third of the sites, fixed by the site's name."""
    return HELD_OUT if int(hashlib.sha256(site.encode()).hexdigest()[:8], 16) % 3 == 0 else DEV


def annotated_pages() -> list[dict]:
    """Every annotated page: id, site, lang, split, the text's path and its gold measures (text, strength)."""
    sources = {row["id"]: row for row in map(json.loads, SOURCES.read_text(encoding="utf-8").splitlines())
               if row}
    pages = []
    for path in sorted((ANNOTATIONS / "first").glob("*.json")):
        adjudicated = ANNOTATIONS / "adjudicated" / path.name
        annotation = json.loads((adjudicated if adjudicated.is_file() else path).read_text(encoding="utf-8"))
        source = sources[annotation["id"]]
        text_path = PAGES / f"{annotation['id']}.txt"
        raw = text_path.read_text(encoding="utf-8")
        if hashlib.sha256(raw.encode("utf-8")).hexdigest() != annotation["sha256"]:
            print(f"{text_path}: its sha256 differs from the annotated one; page left out", file=sys.stderr)
            continue
        gold = [{"text": raw[m["start"]:m["end"]], "strength": m.get("strength")} for m in annotation["measures"]]
        pages.append({"id": annotation["id"], "site": source["site"], "lang": source["lang"],
                      "split": split_of(source["site"]), "path": text_path, "gold": gold})
    return pages


def _structure_to_json(structured) -> dict:
    """The structured document as plain JSON (the cache holds data only: never a pickle, which can run code)."""
    return {"text": structured.text, "blocks": [block.model_dump(mode="json") for block in structured.blocks],
            "origin": [dataclasses.astuple(segment) for segment in structured.origin],
            "removed": [dataclasses.astuple(line) for line in structured.removed], "warnings": structured.warnings}


def _structure_from_json(data: dict):
    from pipeline.reading.normalise import RemovedLine
    from pipeline.reading.structure import Segment, StructuredDocument
    from pipeline.schema import Block

    return StructuredDocument(text=data["text"], blocks=[Block.model_validate(b) for b in data["blocks"]],
                              origin=[Segment(*fields) for fields in data["origin"]],
                              removed=[RemovedLine(*fields) for fields in data["removed"]],
                              warnings=data["warnings"])


class Analyser:
    """load → structure → spaCy, cached by file and pipeline; then the rule extractor, every time."""

    def __init__(self, config: PipelineConfig, cache: Path) -> None:
        from pipeline.analysis.nlp import load_nlp

        self.config = config
        self.loaded = load_nlp(config.nlp, trusted=config.trust_nlp)
        self.cache = cache
        # The cache holds only data (the structure as JSON, spaCy's Doc serialisation), so a planted file can at
        # worst give wrong results; still, only a folder of this user's that nobody else can write in is used.
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = cache.stat()
        if info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise SystemExit(f"{cache}: the cache folder must be yours and writable by you alone")
        info = self.loaded.info
        self.nlp_key = hashlib.sha256(f"{info.name}:{info.version}:{info.kind}".encode()).hexdigest()[:12]

    def prepared(self, path: Path):
        from spacy.tokens import Doc

        from pipeline.analysis.nlp import parse
        from pipeline.reading.loaders import load_document
        from pipeline.reading.structure import build_structure

        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        cached = self.cache / f"{digest[:24]}-{self.nlp_key}"
        structure_file, doc_file = cached.with_suffix(".structure.json"), cached.with_suffix(".spacy-doc")
        if structure_file.is_file() and doc_file.is_file():
            structured = _structure_from_json(json.loads(structure_file.read_text(encoding="utf-8")))
            return structured, Doc(self.loaded.nlp.vocab).from_bytes(doc_file.read_bytes())
        structured = build_structure(load_document(path, pdf_backend=self.config.pdf_backend))
        doc = parse(self.loaded, structured.text)
        for target, data in ((doc_file, doc.to_bytes()),
                             (structure_file, json.dumps(_structure_to_json(structured)).encode("utf-8"))):
            partial = target.with_suffix(".partial")
            partial.write_bytes(data)
            partial.replace(target)
        return structured, doc

    def measures(self, path: Path) -> list:
        from extractors.extract import extract_with_rules

        structured, doc = self.prepared(path)
        return extract_with_rules(structured, doc, self.config).measures


def _row(name: str, pages: int, counts: Counts, strength: Accuracy, empty_pages: int, false_on_empty: int) -> str:
    value = strength.value
    per_page = f"{false_on_empty / empty_pages:.3f}" if empty_pages else "–"
    return (f"| {name} | {pages} | {counts.tp} | {counts.fp} | {counts.fn} | {counts.precision:.3f} | "
            f"{counts.recall:.3f} | {counts.f1:.3f} | {'–' if value is None else f'{value:.3f}'} | "
            f"{empty_pages} | {per_page} |")


def score_pages(analyser: Analyser, pages: list[dict]) -> list[tuple[dict, object, list]]:
    scored = []
    for page in pages:
        measures = analyser.measures(page["path"])
        predicted = [SimpleNamespace(text=m.text, strength=m.strength.value if m.strength else None)
                     for m in measures]
        score = score_document(page["id"], SimpleNamespace(measures=predicted, actors=[]),
                               {"measures": page["gold"], "actors": []})
        scored.append((page, score, predicted))
    return scored


def print_table(scored: list[tuple[dict, object, list]], splits: list[str]) -> dict:
    print("| split | pages | tp | fp | fn | precision | recall | F1 | strength | pages without measures | "
          "false measures per such page |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    figures = {}
    for split in splits:
        for lang in (None, "nb", "nn"):
            chosen = [(p, s, m) for p, s, m in scored if p["split"] == split and (lang is None or p["lang"] == lang)]
            counts, strength = Counts(), Accuracy()
            empty = false_on_empty = 0
            for page, score, predicted in chosen:
                counts.add(score.measures)
                strength.add(score.strength)
                if not page["gold"]:
                    empty += 1
                    false_on_empty += len(predicted)
            name = split if lang is None else f"{split} {lang}"
            print(_row(name, len(chosen), counts, strength, empty, false_on_empty))
            figures[name] = {"precision": counts.precision, "recall": counts.recall, "f1": counts.f1,
                             "strength": strength.value, "false_per_empty_page": false_on_empty / empty if empty
                             else None}
    return figures


def real_docs(analyser: Analyser) -> None:
    if not REAL_DOCS.is_dir():
        print(f"real documents: {REAL_DOCS} is absent; skipped")
        return
    print("\n| real document (gold pages) | found | gold | predicted on gold pages | strength |")
    print("|---|---|---|---|---|")
    for gold_path in sorted(REAL_DOCS.glob("*.pages.gold.json")):
        gold = json.loads(gold_path.read_text(encoding="utf-8"))
        started = time.perf_counter()
        measures = analyser.measures(REAL_DOCS / gold["file"])
        if gold.get("pages"):
            first, last = gold["pages"]
            measures = [m for m in measures if m.page and first <= m.page <= last]
        predicted = [SimpleNamespace(text=m.text, strength=m.strength.value if m.strength else None)
                     for m in measures]
        score = score_document(gold["file"], SimpleNamespace(measures=predicted, actors=[]), gold)
        value = score.strength.value
        print(f"| {gold['file']} | {score.measures.tp} | {len(gold['measures'])} | {len(predicted)} | "
              f"{'–' if value is None else f'{value:.3f}'} |", flush=True)
        if time.perf_counter() - started > 30:
            print(f"  ({gold['file']}: read and parsed once in {time.perf_counter() - started:.0f} s; cached)")


def seeds(config: PipelineConfig) -> None:
    if not SEEDS.is_dir():
        print(f"seeds: {SEEDS} is absent; skipped")
        return
    from pipeline.analysis.process import analyse_document

    evaluation = evaluate(SEEDS, lambda path: analyse_document(path, config))
    overall = evaluation.overall()
    print(f"\nseeds ({len(evaluation.documents)} documents): measure P {overall.measures.precision:.3f} "
          f"R {overall.measures.recall:.3f} F1 {overall.measures.f1:.3f}, strength accuracy "
          f"{overall.strength.value:.3f} (targets: F1 ≥ 0.95, strength ≥ 0.90)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--split", choices=(DEV, HELD_OUT, "both"), default="both")
    parser.add_argument("--nlp", default="best")
    parser.add_argument("--cache", type=Path,
                        default=Path(tempfile.gettempdir()) / f"tiltak-evaluate-rules-{os.getuid()}")
    parser.add_argument("--no-real-docs", action="store_true")
    parser.add_argument("--no-seeds", action="store_true")
    parser.add_argument("--dump", type=Path, help="write the dev split's missed and spurious measures (JSON)")
    args = parser.parse_args()
    config = PipelineConfig(nlp=args.nlp)
    if config.measure_detector != "rules":
        config = config.model_copy(update={"measure_detector": "rules"})
    if not PAGES.is_dir():
        sys.exit(f"evaluate_rules: {PAGES} is absent (the texts stay in ../shared)")
    analyser = Analyser(config, args.cache)
    splits = [DEV, HELD_OUT] if args.split == "both" else [args.split]
    pages = [page for page in annotated_pages() if page["split"] in splits]
    sites = defaultdict(set)
    for page in pages:
        sites[page["split"]].add(page["site"])
    print("rules on the annotated real pages; " + ", ".join(
        f"{split}: {sum(p['split'] == split for p in pages)} pages from {len(sites[split])} sites" for split in splits))
    scored = score_pages(analyser, pages)
    print_table(scored, splits)
    if args.dump:
        dev = [{"id": page["id"], "lang": page["lang"], "missed": score.missed, "spurious": score.spurious,
                "wrong_strength": score.wrong_strength}
               for page, score, _ in scored if page["split"] == DEV and (score.missed or score.spurious
                                                                        or score.wrong_strength)]
        args.dump.write_text(json.dumps(dev, ensure_ascii=False, indent=1), encoding="utf-8")
        print(f"dev errors of {len(dev)} pages written to {args.dump} (page text: never commit it)")
    if not args.no_real_docs:
        real_docs(analyser)
    if not args.no_seeds:
        seeds(config)


if __name__ == "__main__":
    main()

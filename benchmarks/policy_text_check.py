"""How the Norwegian pipeline handles policy text: sentence boundaries at blocks, and organisation entities.

    python benchmarks/policy_text_check.py [--nlp best] [PATH ...]   (default: corpus/ and ../shared/eval/seeds)

For each document (normalised by the project's loaders): sentences that run across a block boundary (a
heading or list item glued to the next text; 0 is right), and how many gazetteer-known organisation mentions
the NER tags as an organisation (a recall proxy for long public-body names such as "Nærings- og
fiskeridepartementet", "Norsk Helsenett SF"). The same is measured with the block-boundary component removed,
as the baseline in the same run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from extractors.actors import load_gazetteer  # noqa: E402
from pipeline.analysis.nlp import load_nlp  # noqa: E402
from pipeline.reading.batch import discover_inputs  # noqa: E402
from pipeline.reading.loaders import load_document  # noqa: E402
from pipeline.reading.structure import build_structure  # noqa: E402

ORG_LABELS = {"ORG", "GPE_ORG"}


def check(nlp, text: str, gazetteer) -> tuple[int, int, int]:
    doc = nlp(text)
    glued = sum(1 for sent in doc.sents if "\n\n" in sent.text.strip())
    known = [(m.start(), m.end()) for m in gazetteer.pattern.finditer(text)]
    orgs = [(e.start_char, e.end_char) for e in doc.ents if e.label_ in ORG_LABELS]
    found = sum(1 for s, e in known if any(a < e and s < b for a, b in orgs))
    return glued, found, len(known)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path,
                        default=[REPO / "corpus", REPO.parent / "shared" / "eval" / "seeds"])
    parser.add_argument("--nlp", default="best")
    args = parser.parse_args()
    loaded = load_nlp(args.nlp)
    gazetteer = load_gazetteer()
    texts = {p.name: build_structure(load_document(p)).text for p in discover_inputs([p for p in args.paths
                                                                                      if p.exists()])}
    print(f"model: {loaded.info.name} {loaded.info.version} ({loaded.info.kind})")
    totals = {"with": [0, 0, 0], "without": [0, 0, 0]}
    for name, text in texts.items():
        glued, found, known = check(loaded.nlp, text, gazetteer)
        with loaded.nlp.select_pipes(disable=["tiltak_block_boundaries"]):
            base_glued, _, _ = check(loaded.nlp, text, gazetteer)
        totals["with"] = [a + b for a, b in zip(totals["with"], (glued, found, known), strict=True)]
        totals["without"][0] += base_glued
        print(f"  {name}: sentences across blocks {glued} (without block boundaries: {base_glued}); "
              f"known organisations tagged by NER {found}/{known}")
    glued, found, known = totals["with"]
    print(f"sentences across blocks: {glued} with the component, {totals['without'][0]} without")
    print(f"NER recall of gazetteer-known organisation mentions: {found}/{known} = {found / max(known, 1):.3f}")


if __name__ == "__main__":
    main()

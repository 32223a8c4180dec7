"""Build the word lexicon the comparison's similarity uses (``pipeline/data/lexicon.tsv.gz``).

    python benchmarks/build_lexicon.py [--treebank ../shared/corpora/norne/ndt]

From the Norwegian Dependency Treebank (Bokmål and Nynorsk; its annotations are CC0, see
../shared/corpora/norne/LICENSE_NDT.txt) it keeps, for nouns, verbs and adjectives, each word form with its most
frequent lemma, its part of speech and the lemma's frequency. No sentence or text is kept: only single words with
their annotation, sorted alphabetically. ``pipeline.research.similarity`` lemmatises with it, splits compounds into
known lemmas (weighted by frequency) and maps nominal forms to their verbs ("etablering" → "etablere").
"""

from __future__ import annotations

import argparse
import gzip
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TREEBANK = REPO.parent / "shared" / "corpora" / "norne" / "ndt"
OUTPUT = REPO / "pipeline" / "data" / "lexicon.tsv.gz"
CONTENT_POS = {"subst": "n", "verb": "v", "adj": "a"}


def build(treebank: Path) -> list[tuple[str, str, str, int]]:
    form_lemmas: dict[str, Counter] = defaultdict(Counter)
    lemma_freq: Counter = Counter()
    for path in sorted(treebank.glob("*/*.conll")):
        for line in path.read_text(encoding="utf-8").splitlines():
            fields = line.split("\t")
            if len(fields) < 5 or fields[3] not in CONTENT_POS:
                continue
            form, lemma, pos = fields[1].lower(), fields[2].lower(), CONTENT_POS[fields[3]]
            if not form.isalpha() or not lemma.replace("-", "").isalpha() or "prop" in fields[5]:
                continue
            form_lemmas[form][(lemma, pos)] += 1
            lemma_freq[(lemma, pos)] += 1
    rows = []
    for form, counts in form_lemmas.items():
        (lemma, pos), _ = counts.most_common(1)[0]
        rows.append((form, lemma, pos, lemma_freq[(lemma, pos)]))
    return sorted(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--treebank", type=Path, default=DEFAULT_TREEBANK)
    args = parser.parse_args()
    rows = build(args.treebank)
    text = "".join(f"{form}\t{lemma}\t{pos}\t{freq}\n" for form, lemma, pos, freq in rows)
    with gzip.open(OUTPUT, "wt", encoding="utf-8", compresslevel=9) as handle:
        handle.write(text)
    print(f"{OUTPUT}: {len(rows)} forms")


if __name__ == "__main__":
    main()

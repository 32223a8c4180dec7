"""Print what a trained pipeline makes of a few Norwegian policy sentences.

    python models/recipe/sanity.py /tmp/tiltak-train/output/model-best ["text" ...]
"""

from __future__ import annotations

import sys

import spacy

DEFAULT = [
    "For å styrke helsenæringen vil regjeringen etablere en helseanalyseplattform i samarbeid med "
    "Helse- og omsorgsdepartementet. Regjeringen vil også vurdere å innføre en ny ordning for "
    "kommunene i Nord-Norge innen 2025.",
]


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "/tmp/tiltak-train/output/model-best"
    texts = sys.argv[2:] or DEFAULT
    nlp = spacy.load(model)
    print("pipeline:", nlp.pipe_names, "disabled:", nlp.disabled)
    for doc in nlp.pipe(texts):
        for i, sent in enumerate(doc.sents):
            print(f"\n[sentence {i}] {sent.text}")
            for t in sent:
                print(f"  {t.i:>3} {t.text:28} {t.pos_:6} {t.lemma_:24} {t.dep_:12} -> {t.head.i:<3} {t.morph}")
        print("\nentities:", [(e.text, e.label_) for e in doc.ents])


if __name__ == "__main__":
    main()

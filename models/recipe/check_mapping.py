"""Check the NDT->UD mapping on the DEV split (never test).

The NDT files of the dev range hold the same sentences as the gold UD dev
file.  Convert them with ndt2ud and report per-token agreement of UPOS, FEATS,
LEMMA, HEAD and DEPREL (and LAS) against the gold UD annotation.

    python models/recipe/check_mapping.py /work/shared/corpora/norne [--confusion]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import ndt2ud
import splits
from convert_ndt import conllu_rows


def aligned_dev(norne: Path):
    ud = conllu_rows(norne / "ud" / "nob" / "no_bokmaal-ud-dev.conllu")
    by_forms: dict[tuple, list] = {}
    for s in ud:
        by_forms.setdefault(tuple(t[1] for t in s), s)
    out = []
    missing = 0
    for f in splits.ndt_files(norne, "dev"):
        for s in ndt2ud.read_conll(str(f)):
            conv = ndt2ud.convert_sentence(s)
            gold = by_forms.get(tuple(t.form for t in conv))
            if gold is None:
                missing += 1
                continue
            out.append((f.stem, conv, gold))
    return out, missing, len(ud)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("norne", type=Path)
    ap.add_argument("--confusion", action="store_true")
    ap.add_argument("--show", type=str, default="", help="show sentences with this gold deprel error")
    ap.add_argument("--n", type=int, default=5)
    a = ap.parse_args()
    pairs, missing, n_ud = aligned_dev(a.norne)
    c = Counter()
    conf_pos, conf_rel, conf_feat, conf_head = Counter(), Counter(), Counter(), Counter()
    shown = 0
    for _stem, conv, gold in pairs:
        bad = False
        for t, g in zip(conv, gold, strict=True):
            c["tok"] += 1
            feats = ndt2ud.feats_str(t.feats)
            c["upos"] += t.upos == g[3]
            c["feats"] += feats == g[5]
            c["upos+feats"] += t.upos == g[3] and feats == g[5]
            c["lemma"] += t.lemma == g[2]
            c["head"] += str(t.head) == g[6]
            c["deprel"] += t.rel == g[7]
            c["las"] += str(t.head) == g[6] and t.rel == g[7]
            c["las_base"] += str(t.head) == g[6] and t.rel.split(":")[0] == g[7].split(":")[0]
            if t.upos != g[3]:
                conf_pos[(t.xpos, t.upos, g[3])] += 1
            if feats != g[5]:
                conf_feat[(t.upos, feats, g[5])] += 1
            if t.rel != g[7]:
                conf_rel[(t.nrel, t.rel, g[7])] += 1
            if str(t.head) != g[6]:
                conf_head[(t.nrel, t.rel, g[7])] += 1
            wrong = str(t.head) + t.rel != g[6] + g[7]
            if a.show and wrong and a.show in (f"{t.nrel}/{t.rel}/{g[7]}", g[7]):
                bad = True
        if bad and shown < a.n:
            shown += 1
            for t, g in zip(conv, gold, strict=True):
                mark = "" if str(t.head) == g[6] and t.rel == g[7] else "  <<<"
                print(f"{t.id:>3} {t.form[:16]:16} {t.xpos:7} {t.nrel:8} {t.upos:6} {t.head:>3} {t.rel:12} | "
                      f"{g[3]:6} {g[6]:>3} {g[7]}{mark}")
            print()
    n = c["tok"]
    print(f"dev sentences aligned: {len(pairs)}/{n_ud} (NDT dev sentences not found in UD: {missing}); tokens {n}")
    for k in ("upos", "feats", "upos+feats", "lemma", "head", "deprel", "las", "las_base"):
        print(f"  {k:10} {c[k] / n:.4f}")
    if a.confusion:
        print("\nUPOS confusions (ndt pos, mapped, gold):")
        for k, v in conf_pos.most_common(25):
            print(f"  {v:5} {k}")
        print("\nDEPREL confusions (ndt rel, mapped, gold):")
        for k, v in conf_rel.most_common(40):
            print(f"  {v:5} {k}")
        print("\nHEAD errors by (ndt rel, mapped, gold rel):")
        for k, v in conf_head.most_common(30):
            print(f"  {v:5} {k}")
        print("\nFEATS confusions (upos, mapped, gold):")
        for k, v in conf_feat.most_common(30):
            print(f"  {v:5} {k}")


if __name__ == "__main__":
    main()

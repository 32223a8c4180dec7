"""NDT -> UD conversion for the Norwegian Dependency Treebank (Bokmål).

The project's own mapping from the original NDT annotation (CoNLL-X: NDT POS,
NDT features, NDT dependency relations) to Universal Dependencies (UPOS, UD
FEATS, UD relations and UD tree shape).  It converts the *trees*, not just the
labels:

* auxiliaries: NDT makes the finite (auxiliary) verb the head and hangs the
  main verb below it as INFV; UD makes the main verb the head and the
  auxiliaries its ``aux`` / ``aux:pass`` dependents;
* copula: NDT ``være`` heads its SPRED; UD makes the predicate the head and
  ``være`` a ``cop`` dependent;
* prepositions: NDT prepositions head their PUTFYLL; UD makes the complement
  the head and the preposition a ``case`` (or ``mark``) dependent;
* infinitive marker: NDT ``å`` heads the infinitive (INFV); UD attaches ``å``
  as ``mark`` to the verb;
* punctuation inside coordination is re-attached to the following conjunct.

The relation labels are then assigned from the NDT function plus the
converted structure and UPOS (obl vs nmod, nsubj:pass, advcl / acl:relcl /
ccomp / xcomp, flat:name vs compound, ...).

Only the NDT *dev* files (checked against the gold UD dev file, see
``check_mapping.py``) were used to develop these rules; never the test split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


@dataclass
class Tok:
    id: int
    form: str
    lemma: str
    xpos: str  # NDT POS
    nfeats: list[str]  # NDT features
    head: int
    nrel: str  # NDT relation
    ner: str  # IOB tag, e.g. "B-PER" / "O"
    # output
    upos: str = ""
    feats: dict[str, str] = field(default_factory=dict)
    rel: str = ""  # working relation (NDT label, later UD label)
    predicative: bool = False  # predicate of a copula (set by the conversion)


def read_conll(path: str) -> list[list[Tok]]:
    """Read an NDT CoNLL-X file (10 columns, NER as name=IOB in the last one)."""
    sents: list[list[Tok]] = []
    cur: list[Tok] = []
    with open(path, encoding="utf8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line.strip():
                if cur:
                    sents.append(cur)
                    cur = []
                continue
            if line.startswith("#"):
                continue
            c = line.split("\t")
            ner = "O"
            for item in c[9].split("|"):
                if item.startswith("name="):
                    ner = item[5:]
            feats = [] if c[5] == "_" else c[5].split("|")
            cur.append(Tok(int(c[0]), c[1], c[2], c[3], feats, int(c[6]), c[7], ner))
    if cur:
        sents.append(cur)
    return sents


def is_headline_marker(t: Tok) -> bool:
    return t.xpos == "clb" and "<overskrift>" in t.nfeats


def drop_headline_markers(sent: list[Tok]) -> list[Tok]:
    """NDT ends headlines with a '|' token (clb <overskrift>); UD drops it."""
    drop = {t.id for t in sent if is_headline_marker(t)}
    if not drop or len(drop) == len(sent):
        return sent
    byid = {t.id: t for t in sent}

    def resolve(h: int) -> int:
        while h in drop:
            h = byid[h].head
        return h

    keep = [t for t in sent if t.id not in drop]
    newid = {t.id: i + 1 for i, t in enumerate(keep)}
    newid[0] = 0
    roots = []
    for t in keep:
        h = resolve(t.head)
        t.head = newid[h]
        if t.head == 0:
            roots.append(t)
    for t in keep:
        t.id = newid[t.id]
    # a dropped root leaves several roots: keep the first, attach the others to it
    if len(roots) > 1:
        for t in roots[1:]:
            t.head = roots[0].id
            t.nrel = "PAR" if t.nrel in ("FINV", "FRAG") else t.nrel
    return keep


# --------------------------------------------------------------------------
# POS and features
# --------------------------------------------------------------------------

AUX_LEMMAS = {
    "ha", "være", "bli", "kunne", "skulle", "ville", "måtte", "burde", "få",
    "tørre", "matte",
}
MODALS = {"kunne", "skulle", "ville", "måtte", "burde", "tørre"}

QUANT_DET = {
    "all", "alt", "alle", "en", "et", "ei", "enhver", "ethvert", "hver", "hvert",
    "ingen", "noe", "noen", "samtlige", "begge", "mang", "mange", "mye", "få",
    "flere", "fleste", "mer", "mest", "lite", "litt", "mindre", "minst", "nok",
    "annen", "andre", "øvrig", "enkelte", "enkelt", "hvilken", "somme",
    "mangen", "flest", "færre", "færrest", "atskillig", "diverse", "tallrik",
}

NUM_WORDS = {
    "null", "en", "ett", "én", "éi", "to", "tre", "fire", "fem", "seks", "sju", "syv",
    "åtte", "ni", "ti", "elleve", "tolv", "tretten", "fjorten", "femten", "seksten",
    "sytten", "atten", "nitten", "tjue", "tyve", "tretti", "førti", "femti", "seksti",
    "sytti", "åtti", "nitti", "hundre", "tusen", "million", "milliard", "hundrede",
}

# NDT tags these as prepositions; UD as adverbs
PRON_ADVERBS = {"her", "der", "hit", "dit", "hvor", "herfra", "derfra", "hvorfra", "heretter", "deretter"}

POSS = {"min", "din", "sin", "hans", "hennes", "dens", "dets", "vår", "deres", "eders"}

FEATMAP = {
    "ent": ("Number", "Sing"),
    "fl": ("Number", "Plur"),
    "ub": ("Definite", "Ind"),
    "be": ("Definite", "Def"),
    "mask": ("Gender", "Masc"),
    "fem": ("Gender", "Fem"),
    "nøyt": ("Gender", "Neut"),
    "gen": ("Case", "Gen"),
    "nom": ("Case", "Nom"),
    "akk": ("Case", "Acc"),
    "pos": ("Degree", "Pos"),
    "komp": ("Degree", "Cmp"),
    "sup": ("Degree", "Sup"),
    "1": ("Person", "1"),
    "2": ("Person", "2"),
    "3": ("Person", "3"),
    "fork": ("Abbr", "Yes"),
    "pass": ("Voice", "Pass"),
    "refl": ("Reflex", "Yes"),
    "poss": ("Poss", "Yes"),
    "hum": ("Animacy", "Hum"),
}

PRONTYPE = {
    "pers": "Prs",
    "dem": "Dem",
    "sp": "Int",
    "res": "Rcp",
    "refl": "Prs",
}


def _digits(s: str) -> bool:
    s = s.replace(".", "").replace(",", "").replace("-", "").replace("/", "")
    return s.isdigit()


def base_upos(t: Tok) -> str:
    p, f, lem = t.xpos, t.nfeats, t.lemma.lower()
    if p == "subst":
        if "prop" in f:
            return "PROPN"
        return "NOUN"
    if p == "verb":
        return "VERB"  # AUX decided from the converted tree
    if p == "adj":
        return "ADJ"
    if p == "adv":
        if lem in ("ikke", "ei"):
            return "PART"
        return "ADV"
    if p == "prep":
        if lem in PRON_ADVERBS or (lem.startswith(("her", "der")) and len(lem) > 3 and lem not in ("herre",)):
            return "ADV"
        return "ADP"
    if p == "pron":
        return "PRON"
    if p == "det":
        if "poss" in f or lem in POSS:
            return "PRON"
        if "kvant" in f:
            if _digits(t.form) or (lem in NUM_WORDS and lem not in ("en", "ett", "ei")):
                return "NUM"
            if "romertall" in f:
                return "NUM"
            return "DET"
        return "DET"
    if p == "konj":
        return "CCONJ"
    if p == "sbu":
        return "SCONJ"
    if p == "inf-merke":
        return "PART"
    if p == "interj":
        return "INTJ"
    if p == "ukjent":
        return "X"
    if p == "symb":
        return "SYM"
    if p in ("clb", "<komma>", "<strek>", "<anf>", "<parentes-beg>", "<parentes-slutt>"):
        return "PUNCT"
    return "X"


def base_feats(t: Tok, upos: str) -> dict[str, str]:
    f = t.nfeats
    out: dict[str, str] = {}
    genders = [g for g in ("fem", "mask", "nøyt") if g in f]
    if "m/f" in f:
        genders = ["fem", "mask"]
    if upos in ("PUNCT", "CCONJ", "SCONJ", "ADP", "SYM", "INTJ", "X"):
        if "fork" in f:
            out["Abbr"] = "Yes"
        return out
    if upos == "PART":
        if t.lemma.lower() in ("ikke", "ei"):
            out["Polarity"] = "Neg"
        return out
    if upos in ("VERB", "AUX"):
        if "pres" in f:
            out.update(Mood="Ind", Tense="Pres", VerbForm="Fin")
        elif "pret" in f:
            out.update(Mood="Ind", Tense="Past", VerbForm="Fin")
        elif "imp" in f:
            out.update(Mood="Imp", VerbForm="Fin")
        elif "inf" in f:
            out["VerbForm"] = "Inf"
        elif "perf-part" in f:
            out["VerbForm"] = "Part"
        if "pass" in f:
            out["Voice"] = "Pass"
        if "fork" in f:
            out["Abbr"] = "Yes"
        return out
    if upos in ("NOUN", "PROPN"):
        for k in ("ent", "fl", "ub", "be", "gen", "fork"):
            if k in f:
                a, v = FEATMAP[k]
                out[a] = v
        if (genders and upos == "NOUN") or (upos == "PROPN" and genders):
            out["Gender"] = ",".join(sorted(FEATMAP[g][1] for g in genders))
        return out
    if upos == "ADJ":
        for k in ("ent", "fl", "ub", "be", "pos", "komp", "sup", "gen", "fork"):
            if k in f:
                a, v = FEATMAP[k]
                out[a] = v
        if "nøyt" in f and "m/f" not in f:
            out["Gender"] = "Neut"
        elif len(genders) == 1 and "m/f" not in f:
            out["Gender"] = FEATMAP[genders[0]][1]
        if "<perf-part>" in f or "<pres-part>" in f:
            out["VerbForm"] = "Part"
            if "<pres-part>" in f:
                out.pop("Degree", None)
        return out
    if upos == "NUM":
        out["NumType"] = "Card"
        for k in ("ent", "fl"):
            if k in f:
                out["Number"] = FEATMAP[k][1]
        return out
    if upos in ("PRON", "DET"):
        for k in ("ent", "fl", "ub", "be", "nom", "akk", "gen", "1", "2", "3", "refl", "poss", "komp", "sup", "pos",
                  "hum"):
            if k in f:
                a, v = FEATMAP[k]
                out[a] = v
        if genders:
            out["Gender"] = ",".join(sorted(FEATMAP[g][1] for g in genders))
        pt = None
        for k in ("pers", "dem", "sp", "res"):
            if k in f:
                pt = PRONTYPE[k]
        lem = t.lemma.lower()
        if "refl" in f:
            pt = "Prs"
        if "poss" in f or lem in POSS:
            out["Poss"] = "Yes"
            pt = "Prs"
        if pt is None and "kvant" in f:
            if lem in ("en", "ei", "et"):
                pt = "Art"
            elif lem in ("all", "alle", "hver", "enhver", "begge", "samtlige"):
                pt = "Tot"
            elif lem in ("ingen", "ingenting"):
                pt = "Neg"
            elif lem in ("noen", "noe", "somme", "enkelte"):
                pt = "Ind"
        if pt:
            out["PronType"] = pt
        return out
    return out


# --------------------------------------------------------------------------
# Tree helpers
# --------------------------------------------------------------------------


class Tree:
    def __init__(self, sent: list[Tok]):
        self.toks = sent
        self.by = {t.id: t for t in sent}

    def kids(self, t: Tok) -> list[Tok]:
        return [k for k in self.toks if k.head == t.id]

    def promote(self, new: Tok, old: Tok, old_rel: str, move=lambda k: True) -> None:
        """Make `new` (a child of `old`) the head: `new` takes over the head and
        relation of `old`, `old` becomes a child of `new` with `old_rel`, and the
        other children of `old` (those for which move(k) is true) move to `new`."""
        new.head, new.rel = old.head, old.rel
        old.head, old.rel = new.id, old_rel
        for k in self.kids(old):
            if k is not new and move(k):
                k.head = new.id

    def subtree_ids(self, t: Tok) -> set[int]:
        out = {t.id}
        stack = [t]
        while stack:
            x = stack.pop()
            for k in self.kids(x):
                if k.id not in out:
                    out.add(k.id)
                    stack.append(k)
        return out


def _is_verbal(t: Tok) -> bool:
    return t.xpos == "verb"


PUNCT_TO_CONJ = False

NOMINAL = {"NOUN", "PROPN", "PRON", "NUM", "DET", "SYM", "X"}


def convert_sentence(sent: list[Tok]) -> list[Tok]:
    sent = drop_headline_markers(sent)
    tr = Tree(sent)
    for t in sent:
        t.rel = t.nrel
        t.upos = base_upos(t)

    # ---- 1. auxiliary chains ------------------------------------------------
    changed = True
    guard = 0
    while changed and guard < 200:
        changed = False
        guard += 1
        for v in sent:
            if v.xpos != "verb" or v.lemma not in AUX_LEMMAS or v.rel in ("aux", "aux:pass", "cop"):
                continue
            infv = [k for k in tr.kids(v) if k.rel == "INFV" and k.xpos == "verb"]
            if not infv:
                continue
            c = infv[0]
            cf = c.nfeats
            ok = False
            if (
                (v.lemma in MODALS and ("inf" in cf or "perf-part" in cf))
                or (v.lemma in ("ha", "få") and ("perf-part" in cf or ("inf" in cf and v.lemma == "ha")))
                or (v.lemma in ("være", "bli") and "perf-part" in cf)
            ):
                ok = True
            if not ok:
                continue
            rel = "aux"
            if v.lemma == "bli":
                rel = "aux:pass"
            tr.promote(c, v, rel)
            changed = True

    # ---- 2. copula ----------------------------------------------------------
    for v in list(sent):
        if v.xpos != "verb" or v.lemma != "være" or v.rel in ("aux", "aux:pass", "cop"):
            continue
        spred = [k for k in tr.kids(v) if k.rel == "SPRED"]
        if not spred:
            continue
        p = spred[0]
        tr.promote(p, v, "cop")
        p.predicative = True

    # ---- 3. infinitive marker -----------------------------------------------
    for m in list(sent):
        if m.xpos != "inf-merke":
            continue
        infv = [k for k in tr.kids(m) if k.rel == "INFV"]
        if not infv:
            continue
        tr.promote(infv[0], m, "mark")

    # ---- 4. prepositions ----------------------------------------------------
    for p in list(sent):
        if p.xpos != "prep":
            continue
        comp = [k for k in tr.kids(p) if k.rel == "PUTFYLL"]
        if not comp:
            continue
        c = comp[0]
        # finite subordinate clause (at, om, ...) -> mark; an infinitive or a
        # wh-clause keeps the preposition as case unless it is adverbial
        verbal = c.xpos == "verb" or _has_cop(tr, c)
        subclause = any(k.rel == "SBU" and k.lemma != "som" for k in tr.kids(c)) or (
            verbal and any(k.xpos == "inf-merke" for k in tr.kids(c)) and c.xpos == "verb"
        )
        adverbial_clause = p.rel in ("ADV",) and verbal
        predicative = p.rel in ("SPRED", "OPRED", "FSPRED", "FOPRED")
        tr.promote(c, p, "mark" if subclause or adverbial_clause or predicative else "case")
        for other in comp[1:]:
            other.head = c.id

    # ---- 4b. free predicatives attach to the subject (UD: acl) ---------------
    for t in sent:
        if t.rel == "FSPRED" and t.head:
            subj = [k for k in tr.kids(tr.by[t.head]) if k.rel == "SUBJ" and k.xpos != "verb"]
            if subj:
                t.head = subj[0].id
                t.rel = "FSPRED-acl"

    # ---- 5. relabel ----------------------------------------------------------
    new_rels = [ud_relation(t, tr) for t in sent]  # decided on the NDT labels
    for t, r in zip(sent, new_rels, strict=True):
        t.rel = r

    # ---- 6. POS depending on the function ------------------------------------
    for t in sent:
        if t.xpos == "verb" and t.rel in ("aux", "aux:pass", "cop"):
            t.upos = "AUX"
        if t.xpos == "prep" and t.rel == "mark":
            t.upos = "SCONJ"
        if t.xpos == "sbu" and t.lemma == "som" and t.rel != "mark":
            t.upos = "PRON"
        t.feats = base_feats(t, t.upos)
        if t.upos == "PRON" and t.lemma == "som":
            t.feats = {"PronType": "Rel"}

    # ---- 7. punctuation inside coordination ---------------------------------
    for t in sent if PUNCT_TO_CONJ else ():
        if t.rel != "punct":
            continue
        h = tr.by.get(t.head)
        if h is None:
            continue
        nxt = tr.by.get(t.id + 1)
        if nxt is None or t.id < h.id:
            continue
        for c in tr.kids(h):
            if c.rel == "conj" and c.id > t.id and nxt.id in tr.subtree_ids(c):
                t.head = c.id
                break
    return sent


def _relative_clause(tr: Tree, v: Tok) -> bool:
    """v heads a clause that modifies a nominal (NDT: ATR of a noun / pronoun)."""
    if v.rel == "ATR":
        return True
    # coordinated relative clauses, clefts
    if v.rel in ("KOORD",) and v.head:
        return _relative_clause(tr, tr.by[v.head])
    return False


def _cleft(tr: Tree, h: Tok) -> bool:
    """'Det er X som ...': the relative clause hangs on a copular predicate
    whose subject is 'det'."""
    kids = tr.kids(h)
    return any(k.rel == "cop" for k in kids) and any(
        k.lemma == "det" and k.rel in ("SUBJ", "FSUBJ") for k in kids
    )


def _has_cop(tr: Tree, t: Tok) -> bool:
    return any(k.rel == "cop" for k in tr.kids(t))


def _has_kid(tr: Tree, t: Tok, rels: tuple[str, ...]) -> bool:
    return any(k.rel in rels for k in tr.kids(t))


def _is_passive(tr: Tree, v: Tok) -> bool:
    if "pass" in v.nfeats:
        return True
    return any(k.rel == "aux:pass" for k in tr.kids(v))


FINITE = ("pres", "pret", "imp")


def _finite(tr: Tree, t: Tok) -> bool:
    if any(f in t.nfeats for f in FINITE):
        return True
    return any(
        k.rel in ("aux", "aux:pass", "cop") and any(f in k.nfeats for f in FINITE) for k in tr.kids(t)
    )


def _clausal(tr: Tree, t: Tok) -> bool:
    if t.rel in ("aux", "aux:pass", "cop", "case", "mark"):
        return False
    if t.xpos == "verb":
        return True
    # a copular clause: predicate with a cop dependent
    return any(k.rel == "cop" for k in tr.kids(t))


def ud_relation(t: Tok, tr: Tree) -> str:
    r = t.rel
    if r in ("aux", "aux:pass", "cop", "case", "mark"):
        return r
    if t.head == 0:
        return "root"
    h = tr.by[t.head]

    if r == "FSPRED-acl":
        return "acl"
    if r in ("SUBJ", "PSUBJ"):
        if _clausal(tr, t):
            return "csubj:pass" if _is_passive(tr, h) else "csubj"
        return "nsubj:pass" if _is_passive(tr, h) else "nsubj"
    if r in ("FSUBJ", "FOBJ"):
        return "expl"
    if r in ("DOBJ", "POBJ"):
        if _clausal(tr, t):
            if not _has_kid(tr, t, ("SUBJ",)):
                return "xcomp"
            return "ccomp"
        return "obj"
    if r == "IOBJ":
        return "iobj"
    if r in ("SPRED", "OPRED", "FSPRED", "FOPRED", "INFV"):
        return "xcomp"
    if r == "ADV":
        if _clausal(tr, t):
            return "advcl"
        if t.upos in ("ADV", "PART", "ADJ"):
            return "advmod"
        if t.upos == "ADP":
            if h.xpos == "verb":
                return "compound:prt"
            return "obl"
        if t.upos in NOMINAL:
            return "obl"
        if t.upos == "SCONJ":
            return "mark"
        return "advmod"
    if r == "ATR":
        if _clausal(tr, t):
            kids = tr.kids(t)
            if any(k.xpos == "inf-merke" or k.rel == "mark" or (k.xpos == "sbu" and k.lemma != "som") for k in kids):
                return "acl"
            if _cleft(tr, h):
                return "acl:cleft"
            return "acl:relcl"
        if t.upos == "ADJ":
            return "amod" if h.upos in NOMINAL else "advmod"
        if t.upos in ("ADV", "PART"):
            return "advmod"
        if t.upos == "NUM":
            return "nmod"
        if t.upos in NOMINAL:
            return "nmod"
        return "nmod"
    if r == "DET":
        if t.upos == "NUM":
            return "nummod"
        if t.upos in ("PRON", "NOUN", "PROPN"):
            return "nmod"
        if t.upos == "ADJ":
            return "amod"
        return "det"
    if r == "FLAT":
        if h.upos == "PROPN":
            return "flat:name"
        if t.id < h.id:
            return "compound"
        if t.upos == "X" and h.upos == "X":
            return "flat:foreign"
        if t.upos == "PROPN":
            return "flat:name"
        return "flat"
    if r == "APP":
        return "nmod" if t.id < h.id else "appos"
    if r == "PAR":
        return "parataxis"
    if r in ("IP", "IK"):
        return "punct"
    if r in ("KOORD", "KOORD-ELL"):
        return "conj"
    if r == "KONJ":
        return "cc"
    if r == "SBU":
        if t.lemma == "som":
            if any(k.rel in ("SUBJ", "PSUBJ") and k is not t for k in tr.kids(h)):
                return "obj"
            return "nsubj:pass" if _is_passive(tr, h) else "nsubj"
        return "mark"
    if r == "INTERJ":
        return "discourse"
    if r in ("FINV", "FRAG"):
        return "parataxis"
    if r == "PUTFYLL":
        return "obl"
    return "dep"


def feats_str(feats: dict[str, str]) -> str:
    if not feats:
        return "_"
    return "|".join(f"{k}={v}" for k, v in sorted(feats.items(), key=lambda kv: kv[0].lower()))

"""Policy-style Norwegian text for benchmarks, from the project's own templates (no third-party text).

Deterministic for a given seed, so two runs measure the same words.
"""

from __future__ import annotations

import random

ACTORS = ["Helse- og omsorgsdepartementet", "Nærings- og fiskeridepartementet", "Helsedirektoratet",
          "Innovasjon Norge", "Norges forskningsråd", "Norsk Helsenett SF", "Siva", "de regionale helseforetakene",
          "Direktoratet for medisinske produkter", "kommunene", "Husbanken", "Kunnskapsdepartementet"]
VERBS = ["etablere", "styrke", "videreutvikle", "utrede", "vurdere", "legge fram", "opprette", "bidra til",
         "gjennomgå", "legge til rette for", "forenkle", "innføre"]
OBJECTS = ["en nasjonal ordning for utprøving av helseteknologi", "tilgangen til helsedata for forskning",
           "samarbeidet mellom helse- og omsorgstjenesten og næringslivet", "et program for kliniske studier",
           "eksportsatsingen for norsk helsenæring", "innovative offentlige anskaffelser i kommunene",
           "finansieringen av testsentre og katapultsentre", "kompetansen om immaterielle rettigheter",
           "tilgangen til risikokapital for oppstartsselskaper", "beredskapen for legemiddelproduksjon"]
WHEN = ["innen 2027", "i løpet av 2026", "fra 1. januar 2027", "i neste planperiode", "snarest"]
MONEY = ["50 mill. kroner", "1,2 mrd. kroner", "148,3 mill. kroner over tre år", "ti millioner kroner i året"]
HEADINGS = ["Helsedata og registre", "Kliniske studier", "Testsentre og utprøving", "Eksport og internasjonalt "
            "samarbeid", "Kapital og investeringer", "Offentlige anskaffelser", "Kultur og ledelse"]


def sentence(rng: random.Random) -> str:
    pattern = rng.randrange(5)
    actor, verb, obj = rng.choice(ACTORS), rng.choice(VERBS), rng.choice(OBJECTS)
    if pattern == 0:
        return f"Regjeringen vil {verb} {obj} {rng.choice(WHEN)}."
    if pattern == 1:
        return f"{actor} skal {verb} {obj}, og det settes av {rng.choice(MONEY)} til arbeidet."
    if pattern == 2:
        return f"Regjeringen har tidligere bedt {actor} om å {verb} {obj}."
    if pattern == 3:
        return f"Målet er at {obj} skal bli bedre, og {actor} har fått ansvaret for oppfølgingen."
    return f"Det er behov for å {verb} {obj}, særlig i samarbeid med {actor}."


def document(rng: random.Random, sections: int = 6) -> str:
    """One policy document: headings, prose paragraphs and "vil regjeringen:" lists, blocks split by blank lines."""
    blocks = [f"Handlingsplan for {rng.choice(OBJECTS)}"]
    for _ in range(sections):
        blocks.append(rng.choice(HEADINGS))
        blocks.extend(" ".join(sentence(rng) for _ in range(rng.randint(3, 6))) for _ in range(2))
        blocks.append("For å nå målene på området vil regjeringen:")
        blocks.extend(f"• {rng.choice(VERBS)} {rng.choice(OBJECTS)}" for _ in range(rng.randint(3, 6)))
    return "\n\n".join(blocks)


def documents(n: int, seed: int = 2026) -> list[str]:
    rng = random.Random(seed)
    return [document(rng) for _ in range(n)]

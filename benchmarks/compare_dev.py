"""The development set the comparison's thresholds and weights were set on (see pipeline/research/compare.py), and the
figures.

    python benchmarks/compare_dev.py

Written for the purpose (no seed or gold text): 18 measures of an earlier document restated in a later one
(reworded, re-verbed, extended or trimmed), 10 measures only in the earlier and 10 only in the later document,
some on the same topics. Both documents go through the pipeline (blank NLP) as "vil regjeringen:" lists, so the
measures and their action wording are the pipeline's own. Prints how restated and different pairs score, the
alignment precision/recall at several thresholds, and the whole-text similarity of near-identical and reworded
pairs (for the earlier ``CONTINUED_SIMILARITY``) and their wording overlap (for ``CONTINUED_OVERLAP``). These are the
earlier method's calibration figures; the pair scorer that now aligns is fitted and cross-validated by
``benchmarks/compare_real.py``, which also trains on this development pair.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from pipeline.analysis.process import analyse_document  # noqa: E402
from pipeline.config import PipelineConfig  # noqa: E402
from pipeline.research import compare  # noqa: E402

RESTATED = [
    ("etablere et nasjonalt senter for testing av medisinsk utstyr",
     "Etablere et nasjonalt testsenter for medisinsk utstyr og e-helseløsninger"),
    ("vurdere en ordning for risikoavlastning når kommuner tar i bruk ny velferdsteknologi",
     "etablere en ordning som avlaster kommunenes risiko ved innføring av velferdsteknologi"),
    ("legge fram en handlingsplan for kliniske studier", "legge fram en ny handlingsplan for kliniske studier i 2025"),
    ("styrke veiledningen om immaterielle rettigheter for gründere i helsesektoren",
     "Gi gründere i helsesektoren bedre veiledning om immaterialrettigheter"),
    ("øke norsk deltakelse i EU-programmene for helse og forskning",
     "Mobilisere flere norske søkere til EUs programmer for helseforskning"),
    ("forenkle tilgangen til helsedata for forskning gjennom en felles søknadsportal",
     "gjøre det enklere for forskere å få tilgang til helsedata via én felles søknadsportal"),
    ("utrede en egen eksportsatsing for helsenæringen",
     "igangsette en egen eksportsatsing for helsenæringen sammen med næringslivet"),
    ("gi Innovasjon Norge i oppdrag å styrke rådgivningen til bedrifter i helsenæringen",
     "gi Innovasjon Norge og Siva i oppdrag å styrke rådgivningen til helsebedrifter"),
    ("innføre en indikator for innovasjon i spesialisthelsetjenesten",
     "innføre indikatorer som måler innovasjon i sykehusene og spesialisthelsetjenesten"),
    ("kartlegge behovet for entreprenørskapsundervisning i helsefaglige utdanninger",
     "styrke entreprenørskapsundervisningen i de helsefaglige utdanningene"),
    ("legge til rette for økt bruk av innovative offentlige anskaffelser i kommunene",
     "legge til rette for flere innovative anskaffelser i kommunal sektor"),
    ("opprette et nasjonalt råd for helseinnovasjon med representanter fra næringslivet",
     "videreutvikle det nasjonale rådet for helseinnovasjon som møteplass for næringslivet"),
    ("bygge ut kapasiteten for produksjon av legemidler i Norge",
     "Etablere en nasjonal satsing på legemiddelproduksjon i Norge"),
    ("sikre at Statens legemiddelverk gir rask regulatorisk veiledning til små bedrifter",
     "sikre at Direktoratet for medisinske produkter gir rask regulatorisk veiledning til små og mellomstore "
     "bedrifter"),
    ("utarbeide en handlingsplan for kvinnelige gründere", "følge opp handlingsplanen for kvinnelige gründere"),
    ("gjennomgå virkemiddelapparatet for næringsrettet forskning",
     "gjennomføre en helhetlig gjennomgang av det næringsrettede virkemiddelapparatet"),
    ("styrke klyngeprogrammet for helsenæringen", "utforme et revidert klyngeprogram med egne helseklynger"),
    ("etablere et program for piloter av digital hjemmeoppfølging i kommunene",
     "videreføre programmet for utprøving av digital hjemmeoppfølging i kommunene"),
]
ONLY_EARLIER = [
    "legge fram en strategi for persontilpasset medisin",
    "utrede en ordning med innovasjonspartnerskap mellom sykehus og leverandører",
    "styrke samarbeidet mellom universitetssykehusene om forskningsinfrastruktur",
    "vurdere skatteinsentiver for investeringer i oppstartsbedrifter innen helse",
    "opprette et kompetansesenter for helseøkonomi i Bergen",
    "legge til rette for bedre rekruttering av pasienter til kliniske studier i kommunene",
    "tydeliggjøre helseforetakenes ansvar for innovasjon i oppdragsdokumentet",
    "kartlegge behovet for laboratoriekapasitet i Nord-Norge",
    "videreutvikle ordningen med offentlige ph.d.-stipender i helsesektoren",
    "gjennomgå regelverket for bruk av kunstig intelligens i diagnostikk",
]
ONLY_LATER = [
    "etablere et nasjonalt senter for beredskap for legemidler og vaksiner",
    "styrke helsenæringens tilgang til risikokapital gjennom Investinor",
    "legge til rette for at flere sykehus deltar i internasjonale forskningsnettverk",
    "innføre en ordning for rask metodevurdering av digitale helsetjenester",
    "utrede et fond for kommersialisering av helseinnovasjoner fra kommunene",
    "sikre bedre samordning av helseklyngene i Norge",
    "bidra til økt bruk av velferdsteknologi i hjemmetjenestene",
    "vurdere å gjøre ordningen med næringsph.d. mer attraktiv for små bedrifter",
    "legge fram en stortingsmelding om kunstig intelligens i helsetjenesten",
    "videreutvikle samarbeidet med Danmark og Sverige om kliniske studier",
]
# Whole-text pairs: the first two near-identical (continued), the rest reworded or re-verbed (modified).
NEAR_IDENTICAL = [
    ("etablere et nasjonalt senter for testing av medisinsk utstyr og e-helseløsninger i samarbeid med sykehusene",
     "etablere et nasjonalt senter for testing av medisinsk utstyr og e-helseløsninger i samarbeid med "
     "universitetssykehusene"),
    ("Regjeringen vil legge fram en handlingsplan for kliniske studier",
     "legge fram en handlingsplan for kliniske studier"),
]
REWORDED = [
    ("legge til rette for at helse- og omsorgstjenesten bruker innovative offentlige innkjøp oftere",
     "legge til rette for at helse- og omsorgstjenesten og helseforvaltningen bruker innovative innkjøp oftere"),
    ("vurdere en nasjonal satsing på legemiddelproduksjon", "etablere en nasjonal satsing på legemiddelproduksjon"),
    ("styrke veiledningen om immaterielle rettigheter for gründere i helsesektoren",
     "videreutvikle veiledningen om immaterielle rettigheter for gründere i helsesektoren"),
]


def _analyse(items: list[str], folder: Path, name: str):
    path = folder / f"{name}.txt"
    path.write_text("Tiltak\n\nFor å styrke helsenæringen vil regjeringen:\n\n"
                    + "\n".join(f" • {item}" for item in items) + "\n", encoding="utf-8")
    result = analyse_document(path, PipelineConfig(nlp="blank"))
    if [m.text for m in result.measures] != items:
        raise SystemExit(f"the pipeline did not extract the {name} list item by item")
    return result


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        earlier = _analyse([a for a, _ in RESTATED] + ONLY_EARLIER, Path(tmp), "earlier")
        later = _analyse([b for _, b in RESTATED] + ONLY_LATER, Path(tmp), "later")
    n = len(RESTATED)
    for name, key in (("whole text", lambda text: text), ("without action wording", compare.alignment_text)):
        s = compare.similarity_matrix([key(m.text) for m in earlier.measures], [key(m.text) for m in later.measures])
        restated = np.diag(s)[:n]
        different = s[~np.eye(*s.shape, dtype=bool) | (np.arange(s.shape[0])[:, None] >= n)]
        print(f"{name}: restated {restated.min():.2f}–{restated.max():.2f} (median {np.median(restated):.2f}); "
              f"{different.size} different pairs max {different.max():.2f}, "
              f"99.5th percentile {np.quantile(different, 0.995):.2f}")
    for threshold in (0.15, 0.2, 0.25, 0.3, 0.35):
        pairs = compare.align(s, threshold)
        tp = sum(i == j < n for i, j, _ in pairs)
        print(f"  threshold {threshold}: {len(pairs)} pairs, P {tp / max(len(pairs), 1):.2f} R {tp / n:.2f}"
              + ("  ← MIN_SIMILARITY" if threshold == compare.MIN_SIMILARITY else ""))
    for label, pairs in (("near-identical", NEAR_IDENTICAL), ("reworded", REWORDED)):
        s = compare.similarity_matrix([a for a, _ in pairs], [b for _, b in pairs])
        print(f"{label}: whole-text similarity {np.round(np.diag(s), 3).tolist()} "
              f"(CONTINUED_SIMILARITY {compare.CONTINUED_SIMILARITY}); wording overlap "
              f"{[round(compare.wording_overlap(a, b), 3) for a, b in pairs]} "
              f"(CONTINUED_OVERLAP {compare.CONTINUED_OVERLAP}); statuses "
              f"{[compare.status_of(a, b, None, None, [], []) for a, b in pairs]}")


if __name__ == "__main__":
    main()

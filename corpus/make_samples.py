"""Regenerate the binary samples of the corpus and its manifest.

    .venv/bin/python corpus/make_samples.py

Writes, next to this script:

* ``strategi-eksport.docx``: a strategy in Word, with Title and Heading styles, "List Bullet" and "List Number"
  paragraphs and a table (python-docx, a runtime dependency of tiltak);
* ``melding-helsenaering.pdf``: a four-page white-paper excerpt with a running header, page numbers, bold
  headings, body text wrapped by this script (with words hyphenated across line breaks on purpose) and a list
  that continues from one page to the next (reportlab, a development dependency: ``pip install -e '.[dev]'``);
* ``manifest.json``: every sample in the corpus with its format, language, document type, encoding and sha256.

The text and HTML samples are written by hand and only read here, for the manifest. All texts are fictional,
written for this project (CC0). The output is deterministic: the same bytes on every run (fixed document dates,
reportlab's invariant mode, fixed timestamps inside the .docx zip).
"""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import reportlab
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

HERE = Path(__file__).resolve().parent
FIXED_DATE = datetime(2026, 3, 13, 9, 0, 0, tzinfo=UTC)
ZIP_DATE = (2026, 3, 13, 9, 0, 0)

# ---------------------------------------------------------------------------------------------------------------
# PDF: Meld. St. 12 (2025–2026) Helsenæringen – vekst og verdiskaping (excerpt)
# ---------------------------------------------------------------------------------------------------------------

PDF_NAME = "melding-helsenaering.pdf"
PDF_SERIES = "Meld. St. 12 (2025–2026)"
PDF_TITLE = "Helsenæringen – vekst og verdiskaping"
WRAP_WIDTH = 85  # characters per body line
BULLET_WRAP_WIDTH = 80
FORCED_BREAK = "|"  # in a paragraph: end the printed line here (after a hyphen: a word split across lines)

# (kind, text): title/subtitle/series/h1/h2 are single lines; p is a paragraph, bullet a list item (both wrapped).
PDF_CONTENT: list[tuple[str, str]] = [
    ("series", PDF_SERIES),
    ("subtitle", "Melding til Stortinget"),
    ("title", PDF_TITLE),
    ("p", "Tilråding fra Nærings- og fiskeridepartementet 13. mars 2026, godkjent i statsråd samme dag."),
    ("h1", "1 Sammendrag"),
    ("p", "Helsenæringen omfatter bedrifter som utvikler, produserer og selger varer og tjenester til helse- og "
          "omsorgssektoren, i Norge og internasjonalt. Næringen har vokst raskt det siste tiåret, og samlet "
          "omsetning var i 2024 på om lag 95 mrd. kroner. Likevel er norsk helsenæring fortsatt liten "
          "sammenlignet med nabolandene, og få bedrifter når ut i et større marked."),
    ("p", "Regjeringen legger i denne meldingen fram en politikk for å gjøre Norge til et attraktivt land å "
          "starte, drive og investere i for bedrifter i helse-|næringen. Meldingen bygger på innspill fra "
          "bedrifter, klynger, forskningsmiljøer, kommuner, helseforetak og partene i arbeidslivet."),
    ("p", "Behovet for nye løsninger er stort. Befolkningen blir eldre, flere lever med kroniske sykdommer, og "
          "det blir vanskeligere å rekruttere nok personell. Samtidig står helse-| og omsorgstjenesten foran "
          "krevende prioriteringer. Ny teknologi, nye behandlingsformer og nye måter å organisere arbeidet på "
          "kan gi bedre tjenester og mer effektiv bruk av ressursene."),
    ("h2", "1.1 Regjeringens mål for helsenæringen"),
    ("p", "Regjeringens mål er at helsenæringen skal bidra til flere lønnsomme arbeidsplasser, økt eksport og "
          "bedre tjenester for pasientene. Det skal være enklere å teste ut nye løsninger i tjenestene, og "
          "løsninger som virker skal tas raskere i bruk i hele landet."),
    ("p", "Regjeringen har tre hovedsatsingsområder for helsenæringen:"),
    ("bullet", "et bedre hjemmemarked, der det offentlige etterspør og tar i bruk nye løsninger"),
    ("bullet", "eksport og internasjonalisering"),
    ("bullet", "tilgang til kapital og kompetanse"),
    ("h2", "1.2 Meldingens oppbygging"),
    ("p", "Kapittel 2 handler om hvordan det offentlige kan bli en bedre kunde for helsenæringen. Kapittel 3 "
          "omtaler eksport og internasjonalisering, og kapittel 4 tilgang til kapital og kompetanse. De "
          "økonomiske og administrative konsekvensene av forslagene er omtalt i kapittel 5."),
    ("h1", "2 Et bedre hjemmemarked"),
    ("p", "Offentlige virksomheter står for det meste av etterspørselen etter helseteknologi i Norge. Et godt "
          "hjemmemarked gir bedriftene referanser, kunnskap om brukernes behov og inntekter som kan finansiere "
          "videre vekst. Mange bedrifter opplever likevel at det er vanskelig å komme i dialog med "
          "innkjøperne, og at anskaffelsene i for liten grad åpner for nye løsninger."),
    ("p", "Kommunene har ansvaret for en stor del av helse- og omsorgstjenestene, men har ulike forutsetninger "
          "for å ta i bruk ny teknologi. Store kommuner har egne innovasjonsenheter, mens mange små kommuner "
          "har én eller to personer som skal følge opp alle anskaffelser. Regjeringen mener at en bedre "
          "arbeidsdeling mellom kommunene, fylkene og staten er en forutsetning for et godt hjemmemarked. "
          "Kommunesektorens organisasjon, KS, har tatt initiativ til flere felles prosjekter, og disse "
          "erfaringene bør brukes når ordningene videreutvikles."),
    ("h2", "2.1 Det offentlige som krevende kunde"),
    ("p", "De regionale helseforetakene og kommunene har ulike innkjøpsordninger, og bedriftene må ofte "
          "forholde seg til mange ulike krav. Sykehusinnkjøp HF har bygget opp god kompetanse på "
          "innovative anskaffelser, men denne kompetansen er i liten grad tilgjengelig for kommunene. "
          "Regjeringen mener det er behov for en tydeligere arbeidsdeling og bedre samordning, og at "
          "kompetansen i spesialisthelsetjenesten i større grad bør komme kommunene til gode."),
    ("p", "Erfaringene fra innovasjonspartnerskap viser at tidlig dialog mellom innkjøpere og leverandører gir "
          "bedre løsninger. Samtidig tar slike prosesser tid, og mange kommuner har ikke kapasitet til å "
          "gjennomføre dem alene. Felles anskaffelser gjennom regionale nettverk kan gjøre det enklere. Flere "
          "av nettverkene for velferdsteknologi har allerede gode erfaringer med slike samarbeid."),
    ("p", "Utvalget for offentlige anskaffelser pekte i sin rapport på at innkjøperne ofte vektlegger pris "
          "høyere enn kvalitet og nytte over tid. For helseteknologi kan dette føre til at løsninger som gir "
          "store gevinster i tjenestene, taper i konkurransen mot løsninger som er billigere å kjøpe. Det "
          "gjelder særlig når gevinstene kommer i en annen del av tjenesten enn den som betaler."),
    ("p", "For å gjøre det offentlige til en bedre kunde for helsenæringen vil regjeringen:"),
    ("bullet", "gi de regionale helseforetakene i oppdrag å sette av minst 1 prosent av driftsbudsjettet til "
               "innovasjon og utprøving innen 2028"),
    ("bullet", "etablere et nasjonalt innkjøpsforum for helseteknologi, der Sykehusinnkjøp HF, KS og "
               "leverandørene møtes jevnlig"),
    ("bullet", "utarbeide en veileder for innovative anskaffelser i helse- og omsorgssektoren i samarbeid med "
               "Direktoratet for forvaltning og økonomistyring"),
    ("bullet", "videreutvikle ordningen med innovasjonspartnerskap slik at flere kommuner kan delta, også små "
               "kommuner med begrenset innkjøpskapasitet"),
    ("bullet", "innføre krav om at store anskaffelser av helseteknologi skal vurdere mulighetene for "
               "innovasjon før konkurransen kunngjøres"),
    ("bullet", "styrke Helsedirektoratets arbeid med nasjonale metodevurderinger av medisinsk utstyr, slik at "
               "nye løsninger kan vurderes raskere"),
    ("bullet", "be Helse- og omsorgsdepartementet og Nærings- og fiskeridepartementet følge opp hvordan "
               "kommunene og helseforetakene bruker innovative anskaffelser, og rapportere årlig"),
    ("h2", "2.2 Klinisk forskning og utprøving"),
    ("p", "Klinisk forskning gir pasientene tilgang til ny behandling og gir bedriftene dokumentasjon de "
          "trenger for å nå ut i markedet. Antallet kliniske studier i Norge har økt, men ligger fortsatt "
          "under nivået i Danmark og Sverige. Regjeringen vil videreføre arbeidet med å gjøre det enklere å "
          "gjennomføre kliniske studier i sykehusene og i kommunene."),
    ("h2", "2.3 Regelverk og godkjenning"),
    ("p", "Medisinsk utstyr må oppfylle kravene i EUs regelverk før det kan tas i bruk. Regelverket har blitt "
          "strengere de siste årene, og særlig små bedrifter bruker mye tid og penger på dokumentasjon. "
          "Direktoratet for medisinske produkter gir veiledning, men bedriftene etterspør mer praktisk hjelp i "
          "tidlig fase. Det er også få godkjenningsorganer i Norden, og ventetiden for en vurdering kan være "
          "lang."),
    ("h1", "3 Eksport og internasjonalisering"),
    ("p", "Det norske markedet er lite, og de fleste bedriftene i helsenæringen må vokse internasjonalt for å "
          "lykkes. Eksporten av helseteknologi har økt, men er fortsatt beskjeden sammenlignet med andre "
          "næringer. Regjeringen vil derfor se eksportarbeidet for helsenæringen i sammenheng med den øvrige "
          "eksportsatsingen, og bruke virkemiddelapparatet mer målrettet."),
    ("h2", "3.1 Et samordnet virkemiddelapparat"),
    ("p", "Innovasjon Norge, Norges forskningsråd, Eksfin og utenriksstasjonene gir alle støtte til bedrifter "
          "som vil ut i verden. Bedriftene opplever likevel at det er krevende å finne fram til riktig ordning, "
          "og at ordningene i for liten grad er tilpasset de lange utviklingsløpene i helsenæringen."),
    ("p", "Regjeringen vil:"),
    ("bullet", "legge fram en strategi for økt eksport av helseteknologi i løpet av 2026"),
    ("bullet", "styrke Innovasjon Norges kontorer i utvalgte markeder med egne rådgivere for helsenæringen"),
    ("bullet", "bidra til at norske bedrifter kan delta i felles europeiske anskaffelser og i EUs programmer "
               "for forskning og innovasjon på helseområdet"),
    ("h1", "4 Kapital og kompetanse"),
    ("p", "Bedrifter i helsenæringen trenger tålmodig kapital, fordi det ofte tar mange år fra en idé er "
          "utviklet til produktet er godkjent og kan selges. Regjeringen har de siste årene styrket flere "
          "ordninger for tidligfasekapital, og flere private investorer har vist interesse for næringen."),
    ("p", "Siden 2022 har regjeringen blant annet:"),
    ("bullet", "økt rammen for Innovasjon Norges innovasjonslån"),
    ("bullet", "opprettet et nasjonalt senter for persontilpasset medisin i samarbeid med helseforetakene"),
    ("bullet", "styrket Norges forskningsråds program for brukerstyrt innovasjon i helsesektoren"),
    ("p", "Tilgang til kompetanse er en like stor utfordring som tilgang til kapital. Bedriftene etterspør "
          "særlig kandidater med kunnskap om både teknologi, regelverk og klinisk praksis. Universitetene, "
          "høyskolene og fagskolene har en viktig rolle i å utdanne slike kandidater."),
    ("h1", "5 Økonomiske og administrative konsekvenser"),
    ("p", "Tiltakene i meldingen vil bli fulgt opp innenfor gjeldende budsjettrammer. Eventuelle forslag som "
          "krever nye bevilgninger, vil regjeringen komme tilbake til i de ordinære budsjettprosessene."),
]

PAGE_W, PAGE_H = A4
MARGIN_X = 56.7  # 2 cm
BODY_TOP = PAGE_H - 90
BODY_BOTTOM = 70
BODY_SIZE, LEADING, PARAGRAPH_GAP = 10, 14, 9
STYLES = {  # kind: (bold, size, space before, space after)
    "series": (True, 18, 0, 10),
    "subtitle": (False, 12, 0, 10),
    "title": (True, 20, 0, 24),
    "h1": (True, 15, 10, 10),
    "h2": (True, 12, 6, 8),
}
BULLET_INDENT = 14


def _register_fonts() -> tuple[str, str]:
    """reportlab's bundled Vera fonts, embedded, so that æøå, "–" and "•" print and extract as text."""
    fonts = Path(reportlab.__file__).parent / "fonts"
    if "SampleSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("SampleSans", str(fonts / "Vera.ttf")))
        pdfmetrics.registerFont(TTFont("SampleSans-Bold", str(fonts / "VeraBd.ttf")))
    return "SampleSans", "SampleSans-Bold"


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` characters; a FORCED_BREAK ends a line (used to split a word after its hyphen)."""
    lines: list[str] = []
    for segment in text.split(FORCED_BREAK):
        lines.extend(textwrap.wrap(segment.strip(), width=width, break_on_hyphens=False, break_long_words=False))
    return lines


def _layout_pdf(content: list[tuple[str, str]]) -> list[list[tuple[str, str, float]]]:
    """Pages of (kind, printed line, y) with page breaks where the body is full; a heading keeps two lines
    of what follows it on its page."""
    pages: list[list[tuple[str, str, float]]] = [[]]
    y = BODY_TOP

    def new_page() -> None:
        nonlocal y
        pages.append([])
        y = BODY_TOP

    for index, (kind, text) in enumerate(content):
        if kind in STYLES:
            _bold, size, before, after = STYLES[kind]
            following = content[index + 1] if index + 1 < len(content) else None
            keep = 2 * LEADING if following and following[0] not in STYLES else 0
            if y - before - size - after - keep < BODY_BOTTOM:
                new_page()
            if pages[-1]:
                y -= before
            y -= size
            pages[-1].append((kind, text, y))
            y -= after
            continue
        lines = wrap(text, BULLET_WRAP_WIDTH if kind == "bullet" else WRAP_WIDTH)
        for number, line in enumerate(lines):
            if y - BODY_SIZE < BODY_BOTTOM:
                new_page()
            y -= BODY_SIZE
            line_kind = "bullet" if kind == "bullet" and number == 0 else ("bullet-cont" if kind == "bullet" else kind)
            pages[-1].append((line_kind, line, y))
            y -= LEADING - BODY_SIZE
        following = content[index + 1] if index + 1 < len(content) else None
        if not (kind == "bullet" and following and following[0] == "bullet"):
            y -= PARAGRAPH_GAP
    return pages


def make_pdf(path: Path) -> Path:
    regular, bold = _register_fonts()
    pages = _layout_pdf(PDF_CONTENT)
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    pdf.setTitle(f"{PDF_SERIES} {PDF_TITLE}")
    pdf.setAuthor("tiltak (fiktivt eksempel)")
    pdf.setSubject("Fiktivt utdrag av en stortingsmelding, skrevet for tiltak-prosjektets eksempelkorpus")
    pdf.setCreator("corpus/make_samples.py")
    text_width = PAGE_W - 2 * MARGIN_X
    for number, lines in enumerate(pages, start=1):
        # running header: series left, title right, a rule under both
        pdf.setFont(regular, 8.5)
        pdf.drawString(MARGIN_X, PAGE_H - 36, PDF_SERIES)
        pdf.drawRightString(PAGE_W - MARGIN_X, PAGE_H - 36, PDF_TITLE)
        pdf.setLineWidth(0.4)
        pdf.line(MARGIN_X, PAGE_H - 41, PAGE_W - MARGIN_X, PAGE_H - 41)
        for kind, line, y in lines:
            if kind in STYLES:
                is_bold, size, _before, _after = STYLES[kind]
                font, x = (bold if is_bold else regular), MARGIN_X
            else:
                font, size = regular, BODY_SIZE
                x = MARGIN_X + BULLET_INDENT if kind in {"bullet", "bullet-cont"} else MARGIN_X
            if kind == "bullet":
                pdf.setFont(regular, BODY_SIZE)
                pdf.drawString(MARGIN_X + 3, y, "•")
            pdf.setFont(font, size)
            width = pdfmetrics.stringWidth(line, font, size)
            if x + width > MARGIN_X + text_width + 0.5:
                raise ValueError(f"line too wide for the page ({width:.0f} pt): {line!r}")
            pdf.drawString(x, y, line)
        pdf.setFont(regular, 9)
        pdf.drawCentredString(PAGE_W / 2, 32, str(number))
        pdf.showPage()
    pdf.save()
    return path


# ---------------------------------------------------------------------------------------------------------------
# DOCX: Strategi for økt eksport av helseteknologi
# ---------------------------------------------------------------------------------------------------------------

DOCX_NAME = "strategi-eksport.docx"
DOCX_TITLE = "Strategi for økt eksport av helseteknologi"

DOCX_CONTENT: list[tuple[str, str]] = [
    ("title", DOCX_TITLE),
    ("p", "Nærings- og fiskeridepartementet og Helse- og omsorgsdepartementet, mars 2026."),
    ("h1", "Innledning"),
    ("p", "Norske bedrifter utvikler helseteknologi som er etterspurt i mange land: digital hjemmeoppfølging, "
          "medisinsk bildediagnostikk, beslutningsstøtte og utstyr for akuttmedisin. Likevel står "
          "helseteknologi for en liten del av norsk eksport. Mange bedrifter har gode produkter, men mangler "
          "kapital, nettverk og kunnskap om regelverket i markedene de vil inn i."),
    ("p", "Denne strategien gjelder for perioden 2026–2030. Den følger opp meldingen om helsenæringen og "
          "samler regjeringens innsats for å hjelpe flere bedrifter ut i internasjonale markeder."),
    ("h1", "Norske fortrinn"),
    ("p", "Norge har en tillitsbasert helsetjeneste, gode helseregistre og en befolkning som tar i bruk digitale "
          "tjenester raskt. Dette gjør Norge til et godt sted å utvikle og teste nye løsninger. Samtidig er "
          "hjemmemarkedet lite, og bedriftene må tidlig rette blikket mot andre land."),
    ("p", "Regjeringen vil konsentrere innsatsen om tre satsingsområder:"),
    ("bullet", "de nordiske landene og resten av Europa"),
    ("bullet", "utvalgte markeder i Nord-Amerika og Asia"),
    ("bullet", "internasjonale organisasjoner og utviklingsbanker som kjøper helseutstyr"),
    ("h1", "Regjeringens innsats"),
    ("h2", "Kunnskap om markedene"),
    ("p", "Små bedrifter har sjelden råd til å bygge opp egen kunnskap om regelverk, godkjenningsordninger og "
          "innkjøpsprosesser i mange land. Innovasjon Norge og utenriksstasjonene har kompetanse som kan "
          "komme flere bedrifter til gode."),
    ("p", "For å hjelpe flere norske helseteknologibedrifter ut i internasjonale markeder vil regjeringen:"),
    ("bullet", "etablere et eksportprogram for helseteknologi i Innovasjon Norge, med 40 mill. kroner i 2026"),
    ("bullet", "utvide ordningen med markedsrådgivere ved utenriksstasjonene til fem nye land innen 2027"),
    ("bullet", "gi Norges forskningsråd i oppdrag å styrke norsk deltakelse i europeiske partnerskap for "
               "helseinnovasjon"),
    ("bullet", "samle informasjon om regelverk og godkjenning av medisinsk utstyr i utvalgte land på ett "
               "nettsted"),
    ("h2", "Finansiering og risikoavlastning"),
    ("p", "Eksportkontrakter i helsesektoren er ofte store og langsiktige, og kjøperne stiller krav om "
          "garantier. Regjeringen vil gi Eksfin i oppdrag å vurdere hvordan eksisterende garantiordninger "
          "kan tilpasses mindre bedrifter i helsenæringen."),
    ("h1", "Tiltak"),
    ("number", "Eksportprogram for helseteknologi i Innovasjon Norge"),
    ("number", "Markedsrådgivere for helsenæringen ved fem nye utenriksstasjoner"),
    ("number", "Felles nettsted om regelverk og godkjenning i eksportmarkedene"),
    ("number", "Årlig eksportkonferanse for helsenæringen, arrangert sammen med næringsklyngene"),
    ("number", "Evaluering av strategien innen utgangen av 2029"),
    ("h2", "Ansvar og frister"),
    ("p", "Tabellen viser hvem som har ansvaret for tiltakene, og når de skal være gjennomført."),
    ("table", "Tiltak | Ansvar | Frist"),
    ("table", "Eksportprogram for helseteknologi | Innovasjon Norge | 2026"),
    ("table", "Markedsrådgivere ved utenriksstasjonene | Utenriksdepartementet | 2027"),
    ("table", "Nettsted om regelverk og godkjenning | Direktoratet for medisinske produkter | 2027"),
    ("table", "Årlig eksportkonferanse | Nærings- og fiskeridepartementet | Årlig fra 2026"),
    ("table", "Evaluering av strategien | Nærings- og fiskeridepartementet | 2029"),
    ("h1", "Oppfølging"),
    ("p", "Departementene vil rapportere om arbeidet med strategien i de årlige budsjettproposisjonene. "
          "Næringslivet og tjenestene skal involveres i oppfølgingen gjennom et eget rådgivende forum."),
]


def _deterministic_zip(data: bytes) -> bytes:
    """The same archive with fixed timestamps, so that saving twice gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=ZIP_DATE)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info.filename))
    return out.getvalue()


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    properties = document.core_properties
    properties.title = DOCX_TITLE
    properties.author = "tiltak (fiktivt eksempel)"
    properties.last_modified_by = "corpus/make_samples.py"
    properties.subject = "Fiktiv strategi, skrevet for tiltak-prosjektets eksempelkorpus"
    properties.language = "nb-NO"
    properties.revision = 1
    properties.created = FIXED_DATE.replace(tzinfo=None)
    properties.modified = FIXED_DATE.replace(tzinfo=None)
    table = None
    for kind, text in DOCX_CONTENT:
        if kind == "title":
            document.add_paragraph(text, style="Title")
        elif kind == "h1":
            document.add_paragraph(text, style="Heading 1")
        elif kind == "h2":
            document.add_paragraph(text, style="Heading 2")
        elif kind == "bullet":
            document.add_paragraph(text, style="List Bullet")
        elif kind == "number":
            document.add_paragraph(text, style="List Number")
        elif kind == "table":
            cells = [cell.strip() for cell in text.split("|")]
            if table is None:
                table = document.add_table(rows=0, cols=len(cells))
                table.style = "Table Grid"
            for cell, value in zip(table.add_row().cells, cells, strict=True):
                cell.text = value
            continue
        else:
            document.add_paragraph(text)
        table = None
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_deterministic_zip(buffer.getvalue()))
    return path


# ---------------------------------------------------------------------------------------------------------------
# Manifest
# ---------------------------------------------------------------------------------------------------------------

SAMPLES: list[dict[str, str | None]] = [
    {
        "file": "handlingsplan-helseteknologi.txt",
        "format": "text",
        "language": "nb",
        "document_type": "handlingsplan",
        "encoding": "utf-8",
        "description": "Handlingsplan for helseteknologi 2026–2029 (Bokmål, plain text as exported from a government "
                       "page): bullet lists under 'For å … vil regjeringen:', a numbered list under the heading "
                       "'Tiltak i handlingsplanen', lists of focus areas and goals that are not measures, prose "
                       "commitments with amounts and deadlines, and past achievements.",
    },
    {
        "file": "nyhet-gronn-industri.html",
        "format": "html",
        "language": "nb",
        "document_type": "nyhet",
        "encoding": "utf-8",
        "description": "A regjeringen.no-style press release about green industry: cookie banner, navigation, "
                       "breadcrumbs, share buttons, a 'Relatert' aside, footer and scripts around the article; "
                       "quotes as '– …, sier næringsministeren' paragraphs and a 'Regjeringen vil:' list of five "
                       "measures.",
    },
    {
        "file": "strategi-helsedata-nynorsk.txt",
        "format": "text",
        "language": "nn",
        "document_type": "strategi",
        "encoding": "cp1252",
        "description": "Strategi for betre bruk av helsedata 2026–2030 (Nynorsk), saved as Windows-1252 with CRLF "
                       "line endings to exercise the encoding fallback: 'vil regjeringa:' and 'Regjeringa vil:' "
                       "lists, and a list of principles that is not a list of measures.",
    },
    {
        "file": DOCX_NAME,
        "format": "docx",
        "language": "nb",
        "document_type": "strategi",
        "encoding": None,
        "description": "Strategi for økt eksport av helseteknologi (Word, generated by make_samples.py): Title and "
                       "Heading 1/2 styles, a 'vil regjeringen:' paragraph followed by 'List Bullet' paragraphs, a "
                       "'List Number' list under the heading 'Tiltak', a list of focus areas that is not a list of "
                       "measures, and a table (Tiltak | Ansvar | Frist).",
    },
    {
        "file": PDF_NAME,
        "format": "pdf",
        "language": "nb",
        "document_type": "melding_til_stortinget",
        "encoding": None,
        "description": "Excerpt of a fictional white paper, Meld. St. 12 (2025–2026) Helsenæringen – vekst og "
                       "verdiskaping (four A4 pages, generated by make_samples.py): a running header and page "
                       "numbers on every page, bold headings, text wrapped at 85 characters with 'helse-/næringen' "
                       "hyphenated and 'helse-/og omsorgstjenesten' broken across lines, a 'vil regjeringen:' "
                       "list that continues onto the next page, and lists that are not measures.",
    },
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(folder: Path) -> Path:
    entries = []
    for sample in SAMPLES:
        path = folder / str(sample["file"])
        entry = {key: sample[key] for key in ("file", "format", "language", "document_type", "encoding")}
        entry["sha256"] = sha256(path)
        entry["description"] = sample["description"]
        entries.append(entry)
    target = folder / "manifest.json"
    target.write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target


def main() -> None:
    for written in (make_docx(HERE / DOCX_NAME), make_pdf(HERE / PDF_NAME), write_manifest(HERE)):
        print(f"wrote {written.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()

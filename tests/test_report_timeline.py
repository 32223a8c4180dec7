"""The measure histories of a comparison of three documents, shown in the report as a timeline per measure.

Three editions of a plan, written here, go through the real pipeline (blank NLP) and ``pipeline.research.compare``: one
measure runs through all three unchanged, one keeps its wording but its amount rises from 50 to 80 million, one is
reworded from "vurdere" to "utvikle" (exploratory → intention) and then dropped, one is new in the second edition
and continues into the third; the rest appear in one document only. The browser test at the end runs the same
texts through the CLI (``tiltak run``, ``tiltak compare a b c``, ``tiltak report --comparison``) and opens the report
in headless Chromium at 1400 and 400 px.
"""

from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
from test_report import browser  # noqa: F401  (the headless Chromium fixture; skips without Chromium)
from test_report_browser import NARROW, WIDE, _no_sideways_scroll, _open, _tiltak

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.research.compare import compare_documents
from pipeline.research.report import STEP_TEXT_CHARS, render_report
from pipeline.schema import DocumentResult
from pipeline.store.outputs import name_document

TITLE = "Handlingsplan for helsedata"
INTRO = "For å gjøre helsedataene lettere tilgjengelige vil regjeringen:\n\n"
SERVICE = ("- etablere en nasjonal tjeneste for tilgang til helsedata for forskere, næringsliv og offentlige "
           "myndigheter, med felles søknadsskjema, felles saksbehandling og sikre analyserom for registrene\n")
GUIDE = "- gi Helsedirektoratet i oppdrag å lage en veileder for «anonymisering» & <pseudonymisering> av helsedata\n"
# (file stem, year, text)
EDITIONS = [
    ("helsedata-2020", 2020, f"{TITLE}\n\n{INTRO}{SERVICE}"
     "- bevilge 50 mill. kroner til Innovasjon Norge for eksport av helseteknologi\n"
     "- vurdere en felles løsning for digitalt samtykke til bruk av helsedata i kommunene\n"
     "- styrke opplæringen i personvern for ansatte i sykehusene\n"),
    ("helsedata-2022", 2022, f"{TITLE} (revidert)\n\n{INTRO}{SERVICE}"
     "- bevilge 80 mill. kroner til Innovasjon Norge for eksport av helseteknologi\n"
     "- utvikle en felles løsning for digitalt samtykke til bruk av helsedata i kommunene\n"
     f"{GUIDE}"),
    ("helsedata-2024", 2024, f"{TITLE} og kunstig intelligens\n\n{INTRO}{SERVICE}"
     "- bevilge 80 mill. kroner til Innovasjon Norge for eksport av helseteknologi\n"
     f"{GUIDE}"
     "- opprette et register over algoritmer i helsetjenesten\n"),
]
TITLES = [f"{TITLE} · 2020", f"{TITLE} (revidert) · 2022", f"{TITLE} og kunstig intelligens · 2024"]


def write_editions(folder: Path) -> list[Path]:
    """The three plans as text files, each with a sidecar giving its year (the titles do not say it)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, year, text in EDITIONS:
        path = folder / f"{stem}.txt"
        path.write_text(text, encoding="utf-8")
        (folder / f"{stem}.meta.toml").write_text(f"year = {year}\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    paths = write_editions(tmp_path_factory.mktemp("editions"))
    # Named for its file as `tiltak run` names it, which also applies the sidecar.
    return [DocumentResult.model_validate(name_document(
        analyse_document(path, PipelineConfig(nlp="blank")).model_dump(mode="json"), stem=path.stem, source=path))
        for path in paths]


@pytest.fixture(scope="module")
def comparison(documents):
    result = compare_documents(documents)
    # The texts are only useful if the pipeline sees in them what the timeline is to show.
    shapes = [([s.document for s in h.steps], [s.status for s in h.steps], h.dropped_after)
              for h in result.histories]
    assert shapes[:4] == [([0, 1, 2], ["first", "continued", "continued"], None),
                          ([0, 1, 2], ["first", "continued", "continued"], None),
                          ([0, 1], ["first", "modified"], 1),
                          ([1, 2], ["first", "continued"], None)], shapes
    assert all(len(steps) == 1 for steps, _, _ in shapes[4:])
    assert [d.document.year for d in documents] == [2020, 2022, 2024]
    return result


def _class(name: str) -> str:
    return f'contains(concat(" ", normalize-space(@class), " "), " {name} ")'


def _text(element) -> str:
    return " ".join(element.text_content().split())


def _timeline(html: str):
    page = lxml.html.fromstring(html)
    found = page.xpath('//div[@id="historikk"]')
    return found[0] if found else None


def _rows(timeline) -> list:
    return timeline.xpath(f'.//li[{_class("history")}]')


def _cells(row) -> list:
    return row.xpath(f'./ol[{_class("timeline")}]/li')


def test_timeline_follows_each_measure_across_the_three_documents(documents, comparison):
    timeline = _timeline(render_report(documents, comparison))
    assert timeline is not None
    heads = timeline.xpath(f'./ol[{_class("timeline-head")}]/li')
    assert [_text(h) for h in heads] == TITLES  # one column per document, in order, with its year
    rows = _rows(timeline)
    shown = [h for h in comparison.histories if len(h.steps) >= 2]
    assert [r.get("data-history") for r in rows] == [h.id for h in shown] and len(rows) == 4
    assert _text(timeline.xpath("./h3")[0]) == "Tiltakshistorikk (4)"
    for row in rows:  # every row has one cell per document
        assert len(_cells(row)) == 3

    service, money, consent, guide = rows
    cells = _cells(service)
    assert [c.get("data-status") for c in cells] == ["first", "continued", "continued"]
    assert [_text(c.xpath(f'.//*[{_class("step-document")}]')[0]) for c in cells] == TITLES
    assert [c.get("data-measure") for c in cells] == [h.measure_id for h in comparison.histories[0].steps]
    assert [_text(c.xpath(".//span[contains(@class, 'st-')]")[0]) for c in cells] == [
        "Første gang", "Videreført", "Videreført"]
    # A long text is shortened in the timeline, with the whole text behind a click and in the tooltip.
    full = SERVICE[2:].strip()
    assert len(full) > STEP_TEXT_CHARS
    summary = cells[0].xpath('.//details[@class="step-text"]/summary')[0]
    assert summary.get("title") == full
    assert _text(summary.xpath('./span[@class="short"]')[0]).endswith("…")
    assert len(_text(summary.xpath('./span[@class="short"]')[0])) <= STEP_TEXT_CHARS
    assert _text(cells[0].xpath('.//details[@class="step-text"]')[0]).endswith(full[-40:])
    assert not service.xpath(f'.//*[{_class("changed")}]')  # nothing changed: nothing marked

    # The amount rises from 50 to 80 million in the second document: marked there, and only there.
    cells = _cells(money)
    assert [_text(c.xpath(f'.//*[{_class("step-amounts")}]')[0]) for c in cells] == [
        "50 mill. kr", "80 mill. kr", "80 mill. kr"]
    assert [bool(c.xpath(f'.//*[{_class("step-amounts")} and {_class("changed")}]')) for c in cells] == [
        False, True, False]
    assert [_text(n) for n in money.xpath(f'.//*[{_class("change")}]')] == ["beløp endret: 50 mill. kr → 80 mill. kr"]
    assert "bevilge 80 mill. kroner" in _text(cells[1].xpath(f'.//*[{_class("step-text")}]')[0])

    # Reworded with a stronger verb, then dropped: the strength change is marked, and the drop follows its last step.
    cells = _cells(consent)
    assert [c.get("data-status") for c in cells] == ["first", "modified", "dropped"]
    assert [c.xpath(".//span[@data-strength]")[0].get("data-strength") for c in cells[:2]] == [
        "exploratory", "intention"]
    assert [_text(n) for n in consent.xpath(f'.//*[{_class("change")}]')] == [
        "styrke endret: Utredende → Intensjon"]
    assert cells[1].xpath(f'.//span[@data-strength and {_class("changed")}]')
    assert _text(cells[2]) == f"{TITLES[2]} Utgått" and "dropped-marker" in cells[2].get("class").split()
    assert "100 %" in _text(cells[1])  # the pair score with the previous step

    # New in the second document, continued in the third; nothing in the first column.
    cells = _cells(guide)
    assert [c.get("data-status") for c in cells] == ["before", "new", "continued"]
    assert _text(cells[0]) == "ikke med ennå"
    # Escaped like every other text of the report.
    assert "«anonymisering» & <pseudonymisering>" in _text(cells[1])
    assert not guide.xpath(".//pseudonymisering")

    # Each step links to the measure in its document's section.
    links = [a.get("href") for a in money.xpath('.//div[@class="step-head"]/a')]
    page = lxml.html.fromstring(render_report(documents, comparison))
    for link, document, step in zip(links, documents, comparison.histories[1].steps, strict=True):
        target = page.get_element_by_id(link[1:])
        assert target.text_content() == step.text
        assert target.xpath(f'ancestor::section[@data-document="{document.document.id}"]')


def test_timeline_in_english(documents, comparison):
    timeline = _timeline(render_report(documents, comparison.model_dump(mode="json"), lang="en"))
    assert _text(timeline.xpath("./h3")[0]) == "Measure histories (4)"
    service, money, consent, guide = _rows(timeline)
    assert _text(service.xpath(f'.//*[{_class("step-document")}]')[2]) == TITLES[2]
    assert [_text(n) for n in money.xpath(f'.//*[{_class("change")}]')] == [
        "amounts changed: 50 mill. NOK → 80 mill. NOK"]
    assert [_text(n) for n in consent.xpath(f'.//*[{_class("change")}]')] == [
        "strength changed: Exploratory → Intention"]
    assert _text(_cells(consent)[2]).endswith("Dropped")
    assert [_text(c.xpath(".//span[contains(@class, 'st-')]")[0]) for c in _cells(guide)[1:]] == [
        "New", "Continued"]


def test_comparisons_without_histories_show_no_timeline(documents, comparison):
    older = comparison.model_dump(mode="json")
    del older["histories"]  # a comparison JSON written before histories existed
    html = render_report(documents, older)
    assert _timeline(html) is None and 'href="#historikk"' not in html
    assert 'id="sammenligning"' in html and html.count('class="aligned-row"') == sum(
        len(p.aligned) for p in comparison.pairs)

    # Malformed entries are left out, the sound one still shown; a history in one document only is no timeline.
    sound = older | {"histories": [
        None, "h", {"steps": "x"}, {"steps": [{"document": 99}, {"document": "1"}]},
        {"id": "one", "steps": [{"document": 2, "text": "bare her"}]},
        {"id": "h0-x", "steps": [{"document": 0, "text": "først <b>"}, {"document": 2, "text": "sist",
                                                                          "amounts": [5e9]}]},
    ]}
    timeline = _timeline(render_report(documents, sound))
    (row,) = _rows(timeline)
    assert row.get("data-history") == "h0-x"
    # Not in the middle document (an unaligned gap); a step without a status is a modified one, as in the pairs.
    assert [c.get("data-status") for c in _cells(row)] == ["first", "after", "modified"]
    assert "først <b>" in _text(row) and "5 mrd. kr" in _text(row)


# --- In headless Chromium, from the CLI ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_work(tmp_path_factory) -> Path:
    """``tiltak run`` on the three editions, ``tiltak compare`` over them, ``tiltak report --comparison``."""
    work = tmp_path_factory.mktemp("timeline-cli")
    write_editions(work / "corpus")
    _tiltak(["run", "corpus", "--out", "outputs", "--nlp", "blank"], work)
    _tiltak(["compare", *(f"outputs/{stem}.json" for stem, _, _ in EDITIONS), "--out", "comparison.json"], work)
    _tiltak(["report", "outputs", "--comparison", "comparison.json", "--out", "site/report.html"], work)
    return work


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_three_document_history_in_chromium(browser, cli_work, width):  # noqa: F811
    from selenium.webdriver.common.by import By

    comparison = json.loads((cli_work / "comparison.json").read_text(encoding="utf-8"))
    page = _open(browser, cli_work / "site" / "report.html", width)
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
    timeline = page.find_element(By.ID, "historikk")
    page.execute_script("arguments[0].scrollIntoView()", timeline)
    assert timeline.is_displayed()
    rows = timeline.find_elements(By.CSS_SELECTOR, "li.history")
    through = [h for h in comparison["histories"] if len(h["steps"]) == 3]
    assert [r.get_attribute("data-history") for r in rows[:2]] == [h["id"] for h in through] and len(through) == 2

    def steps(row) -> list:
        found = row.find_elements(By.CSS_SELECTOR, "li.step")
        assert all(step.is_displayed() for step in found)
        return found

    service, money = rows[:2]
    for row, history in zip((service, money), through, strict=True):
        shown = steps(row)
        assert [s.get_attribute("data-measure") for s in shown] == [step["measure_id"] for step in history["steps"]]
        assert [s.get_attribute("data-status") for s in shown] == ["first", "continued", "continued"]
        assert [s.find_element(By.CSS_SELECTOR, ".badge[data-strength]").text for s in shown] == ["Bindende"] * 3
    # The steps in document order: side by side in the documents' columns, or stacked under each other.
    shown = steps(money)
    xs, ys = [s.rect["x"] for s in shown], [s.rect["y"] for s in shown]
    documents = [s.find_element(By.CSS_SELECTOR, ".step-document") for s in shown]
    heads = timeline.find_elements(By.CSS_SELECTOR, "ol.timeline-head li")
    if width == WIDE:
        assert xs == sorted(xs) and len(set(xs)) == 3 and max(ys) - min(ys) < 2
        assert [h.text for h in heads] == TITLES
        assert [round(h.rect["x"]) for h in heads] == [round(x) for x in xs]
        assert not any(d.is_displayed() for d in documents)
    else:
        assert ys == sorted(ys) and len(set(ys)) == 3 and max(xs) - min(xs) < 2
        assert not any(h.is_displayed() for h in heads)
        assert [d.text for d in documents] == TITLES
        assert all(s.rect["x"] >= 0 and s.rect["x"] + s.rect["width"] <= width for s in shown)
    # The amount's rise is marked where it happens, in words too.
    changed = money.find_elements(By.CSS_SELECTOR, ".step-amounts.changed")
    assert len(changed) == 1 and changed[0].text == "80 mill. kr"
    note = shown[1].find_element(By.CSS_SELECTOR, ".change")
    assert note.text == "beløp endret: 50 mill. kr → 80 mill. kr" and note.is_displayed()
    assert page.execute_script("return getComputedStyle(arguments[0], '::before').content", note) == '"▲ "'
    assert changed[0].value_of_css_property("outline-style") == "dashed"

    # The long text of the first history is shortened; a click shows all of it.
    text = service.find_element(By.CSS_SELECTOR, "details.step-text")
    short, more, full = (text.find_element(By.CSS_SELECTOR, css) for css in (".short", ".more", ".full"))

    def visible(element) -> bool:  # checkVisibility: the closed <details> hides its content from rendering
        return page.execute_script("return arguments[0].checkVisibility()", element)

    assert [visible(short), visible(more), visible(full)] == [True, True, False]
    assert short.text.endswith("…") and more.text == "(vis hele)"
    text.find_element(By.TAG_NAME, "summary").click()
    assert [visible(short), visible(more), visible(full)] == [False, False, True]
    assert full.text == SERVICE[2:].strip()

    # Modified, then dropped: the drop is shown after the last step.
    consent = next(r for r in rows if r.find_elements(By.CSS_SELECTOR, "li.dropped-marker"))
    marker = consent.find_element(By.CSS_SELECTOR, "li.dropped-marker")
    last = steps(consent)[-1]
    assert marker.is_displayed() and marker.text.endswith("Utgått")
    assert last.get_attribute("data-status") == "modified"
    assert last.find_element(By.CSS_SELECTOR, ".change").text == "styrke endret: Utredende → Intensjon"
    if width == WIDE:
        assert marker.rect["x"] > last.rect["x"] and abs(marker.rect["y"] - last.rect["y"]) < 2
    else:
        assert marker.rect["y"] > last.rect["y"]
    _no_sideways_scroll(page)

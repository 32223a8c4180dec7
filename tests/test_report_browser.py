"""The report as a researcher uses it, in headless Chromium at 1400 and 400 px wide: search, actor and document
filters, each measure's amounts, deadlines and responsible actor, and for a PDF a link to the measure's page.

The outputs are real: ``tiltak run`` on a two-page PDF and a text file written here, then ``tiltak export``, which
writes the report beside the datasets (``outputs/datasets/report.html``), and ``tiltak report --lang en``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from builders import write_pdf
from test_report import browser  # noqa: F401  (the module's headless Chromium fixture)

TILTAK = Path(sys.executable).parent / "tiltak"
WIDE, NARROW = 1400, 400

PDF_PAGES = [
    ["# Handlingsplan for helsedata", "", "Helsedata gir grunnlag for bedre helsetjenester og ny næring.", "",
     "Helse- og omsorgsdepartementet har ansvaret for planen."],
    ["# Tiltak for deling av helsedata", "", "For å gjøre helsedataene lettere tilgjengelige vil regjeringen:", "",
     "- etablere en nasjonal tjeneste for tilgang til helsedataene innen 2027",
     "- bevilge 50 mill. kroner til Innovasjon Norge for eksport av helseteknologi",
     "- gi Helsedirektoratet i oppdrag å utrede en felles løsning for dataforvaltning"],
]

GRONN = """Handlingsplan for grønn industri

For å styrke konkurransekraften vil regjeringen:

- etablere et senter for batteriteknologi i Mo i Rana med 120 mill. kroner årlig fra 2026
- gi Enova i oppdrag å lage et nytt program for grønne industriprosjekter innen 2028
- vurdere å styrke samarbeidet med Innovasjon Norge om eksport
"""


def _tiltak(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PREFECT_HOME": str(cwd / "prefect"), "COLUMNS": "200"}
    env.pop("PREFECT_API_URL", None)
    done = subprocess.run([str(TILTAK), *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    """A corpus, ``tiltak run`` on it, ``tiltak export`` (with the report) and an English report."""
    work = tmp_path_factory.mktemp("researcher")
    corpus = work / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "helsedata-plan.pdf", PDF_PAGES, title="Handlingsplan for helsedata")
    (corpus / "grønn-industri.txt").write_text(GRONN, encoding="utf-8")
    _tiltak(["run", "corpus", "--out", "outputs", "--nlp", "blank"], work)
    exported = _tiltak(["export", "outputs"], work)
    assert "outputs/datasets/report.html" in exported.stdout
    _tiltak(["report", "outputs", "--out", "site/report.html", "--lang", "en"], work)
    return work


@pytest.fixture(scope="module")
def documents(work: Path) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in (work / "outputs").glob("*.json")}


def _measures_with(document: dict, actor: str) -> list[str]:
    responsible = {c["measure_id"]: c["responsible"] for c in document["commitments"]}
    return [m["id"] for m in document["measures"] if actor in m["actors"] or responsible.get(m["id"]) == actor]


def _open(driver, path: Path, width: int):
    # Device metrics, not the window: a headless window cannot be made narrower than Chromium's minimum.
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 1000, "deviceScaleFactor": 1, "mobile": False})
    driver.get(path.as_uri())
    assert driver.execute_script("return window.innerWidth") == width
    return driver


def _visible_rows(driver) -> list[tuple[str, str]]:
    from selenium.webdriver.common.by import By

    return [(row.find_element(By.XPATH, "ancestor::section").get_attribute("data-document"),
             row.get_attribute("data-measure"))
            for row in driver.find_elements(By.CSS_SELECTOR, "tr.measure-row") if row.is_displayed()]


def _no_sideways_scroll(driver) -> None:
    """Nothing is wider than the viewport (without its scroll bar)."""
    scroll, client = driver.execute_script(
        "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert scroll <= client, f"the page is {scroll} px wide in a {client} px viewport"


def _type(driver, text: str) -> None:
    from selenium.webdriver.common.by import By

    box = driver.find_element(By.CSS_SELECTOR, "input.filter-search")
    box.clear()
    box.send_keys(text)
    if not text:  # clear() sends no input event
        driver.execute_script("arguments[0].dispatchEvent(new Event('input'))", box)


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_search_actor_and_document_filters(browser, work, documents, width):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = _open(browser, work / "outputs" / "datasets" / "report.html", width)
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [e for e in page.get_log("browser") if e["level"] == "SEVERE"] == []
    total = page.find_element(By.CSS_SELECTOR, ".total-count")
    everything = [(doc, m["id"]) for doc, d in sorted(documents.items()) for m in d["measures"]]
    assert sorted(_visible_rows(page)) == everything and len(everything) == 6
    assert total.text == "6 av 6 tiltak vises"

    # Search: every word, in any order, case-insensitive, over text, section, intro, actors, amounts, deadlines.
    _type(page, "Batteriteknologi")
    battery = next(m["id"] for m in documents["grønn-industri"]["measures"] if "batteriteknologi" in m["text"])
    assert _visible_rows(page) == [("grønn-industri", battery)] and total.text == "1 av 6 tiltak vises"
    _type(page, "2027 helsedataene")
    assert [m for _, m in _visible_rows(page)] == [
        m["id"] for m in documents["helsedata-plan"]["measures"] if "2027" in m["text"]]
    _type(page, "ingenting slikt")
    assert _visible_rows(page) == [] and total.text == "0 av 6 tiltak vises"
    _type(page, "")
    assert len(_visible_rows(page)) == 6

    # The actor filter narrows the table to the measures that name the actor or make it responsible.
    actor = Select(page.find_element(By.CSS_SELECTOR, "select.filter-actor"))
    assert "Innovasjon Norge (2)" in [o.text for o in actor.options]
    actor.select_by_value("Innovasjon Norge")
    expected = sorted((doc, m) for doc, d in documents.items() for m in _measures_with(d, "Innovasjon Norge"))
    assert sorted(_visible_rows(page)) == expected and len(expected) == 2
    assert total.text == "2 av 6 tiltak vises"
    # ... and combines with the search and each document's own filters.
    _type(page, "eksport vurdere")
    assert _visible_rows(page) == [("grønn-industri", _measures_with(documents["grønn-industri"],
                                                                     "Innovasjon Norge")[0])]
    _type(page, "")
    actor.select_by_value("")

    # The document filter shows one document's section.
    only = Select(page.find_element(By.CSS_SELECTOR, "select.filter-document"))
    only.select_by_visible_text("Handlingsplan for grønn industri (3)")
    assert {doc for doc, _ in _visible_rows(page)} == {"grønn-industri"}
    assert not page.find_element(By.CSS_SELECTOR, 'section[data-document="helsedata-plan"]').is_displayed()
    assert total.text == "3 av 3 tiltak vises"
    only.select_by_value("")
    assert len(_visible_rows(page)) == 6

    # Nothing runs off the screen sideways.
    _no_sideways_scroll(page)


@pytest.mark.parametrize("width", [WIDE, NARROW])
def test_measures_show_amounts_deadlines_responsible_and_pdf_pages(browser, work, documents, width):  # noqa: F811
    from selenium.webdriver.common.by import By

    report = work / "outputs" / "datasets" / "report.html"
    page = _open(browser, report, width)
    plan = documents["helsedata-plan"]
    section = page.find_element(By.CSS_SELECTOR, 'section[data-document="helsedata-plan"]')

    def row(text: str):
        measure = next(m for m in plan["measures"] if text in m["text"])
        return measure, section.find_element(By.CSS_SELECTOR, f'tr.measure-row[data-measure="{measure["id"]}"]')

    money, money_row = row("50 mill. kroner")
    assert "50 mill. kroner" in money_row.find_element(By.CSS_SELECTOR, "td.amounts").text
    deadline, deadline_row = row("innen 2027")
    assert "innen 2027" in deadline_row.find_element(By.CSS_SELECTOR, "td.deadlines").text
    commitment = next(c for c in plan["commitments"] if c["measure_id"] == deadline["id"])
    assert commitment["responsible"] and commitment["responsible"] in deadline_row.find_element(
        By.CSS_SELECTOR, "td.responsible").text
    assert money_row.find_element(By.CSS_SELECTOR, "td.deadlines").text.endswith("–")

    # A PDF measure links to its page of the source file, relative to the report.
    assert money["page"] == 2
    link = money_row.find_element(By.CSS_SELECTOR, "a.page-link")
    assert link.text == "2" and link.get_attribute("href").endswith("#page=2")
    assert link.get_dom_attribute("href") == "../../corpus/helsedata-plan.pdf#page=2"
    target = urlparse(link.get_attribute("href"))
    assert Path(unquote(target.path)) == work / "corpus" / "helsedata-plan.pdf"
    text_doc = page.find_element(By.CSS_SELECTOR, 'section[data-document="grønn-industri"]')
    assert text_doc.find_elements(By.CSS_SELECTOR, "a.page-link") == []  # no pages to link to

    # The charts: focus areas and strength, inline SVG.
    bars = section.find_elements(By.CSS_SELECTOR, "svg.strength-chart rect.bar")
    strengths = {m["strength"] for m in plan["measures"]}
    assert {b.get_attribute("data-strength") for b in bars} == strengths
    assert section.find_elements(By.CSS_SELECTOR, "svg.area-chart rect.bar")

    # The measure id links to its place in the highlighted text; export's report_url names the same place.
    anchor = money_row.find_element(By.CSS_SELECTOR, "td.id a").get_dom_attribute("href")
    assert section.find_element(By.ID, anchor[1:]).get_attribute("textContent") == money["text"]
    urls = [json.loads(line) for line in (report.parent / "measures.jsonl").read_text(encoding="utf-8").splitlines()]
    url = next(u["report_url"] for u in urls if (u["document_id"], u["measure_id"]) == ("helsedata-plan", money["id"]))
    assert url == f"report.html{anchor}"

    if width == NARROW:  # cards: no table header, every cell labelled
        assert not section.find_element(By.CSS_SELECTOR, "table.measures thead").is_displayed()
        assert money_row.value_of_css_property("display") == "block"
        label = page.execute_script("return getComputedStyle(arguments[0], '::before').content",
                                    money_row.find_element(By.CSS_SELECTOR, "td.amounts"))
        assert label == '"Beløp: "'
        assert money_row.rect["width"] <= width
    else:
        assert section.find_element(By.CSS_SELECTOR, "table.measures thead").is_displayed()
        assert money_row.value_of_css_property("display") == "table-row"
    _no_sideways_scroll(page)


def test_english_report(browser, work):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = _open(browser, work / "site" / "report.html", NARROW)
    assert page.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert page.title == "Measures report"
    total = page.find_element(By.CSS_SELECTOR, ".total-count")
    assert total.text == "6 of 6 measures shown"
    assert Select(page.find_element(By.CSS_SELECTOR, "select.filter-actor")).options[0].text == "All actors"
    headers = page.execute_script(
        "return Array.from(document.querySelectorAll('table.measures th')).map(th => th.textContent)")
    assert headers[:3] == ["Id", "Page", "Strength"] and "Amounts" in headers and "Deadlines" in headers
    _type(page, "batteriteknologi")
    assert total.text == "1 of 6 measures shown"
    # Written to site/, the report links the PDF relative to site/.
    link = page.find_element(By.CSS_SELECTOR, "a.page-link")
    assert link.get_dom_attribute("href") == "../corpus/helsedata-plan.pdf#page=2"
    _no_sideways_scroll(page)

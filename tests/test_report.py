"""The HTML report (``tiltak report``): self-contained, escaped, and what a person sees in a browser.

The browser tests drive Debian's headless Chromium through Selenium and chromedriver (``apt-get install
chromium chromium-driver``), offline; they are skipped only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from pipeline.analysis.process import analyse_document
from pipeline.config import PipelineConfig
from pipeline.errors import TiltakError
from pipeline.research.export import report_anchor
from pipeline.research.report import CHANGE_LABELS, HighlightSpan, highlight, render_report, write_report
from pipeline.schema import DocumentResult

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WINDOW = (1280, 1600)

PLAN_2024 = """Handlingsplan for helsenæring 2024

Helsenæringen skal bli en større del av norsk økonomi. Næringsminister Jan Christian Vestre la fram planen \
sammen med Innovasjon Norge & Forskningsrådet. Les mer på https://www.regjeringen.no/helsenaering.

For å styrke helsenæringen vil regjeringen:

- etablere et nasjonalt program for «utprøving av helseteknologi» i kommunene sammen med Innovasjon Norge
- vurdere å styrke ordningen for kliniske studier gjennom Helse- og omsorgsdepartementet
- bidra til økt eksport av helseteknologi via Eksportfinansiering Norge & Innovasjon Norge
"""

PLAN_2026 = """Handlingsplan for helsenæring 2026

Regjeringen følger opp arbeidet med helsenæringen. Innovasjon Norge skal bidra.

For å følge opp vil regjeringen:

- etablere et nasjonalt program for «utprøving av helseteknologi» i kommunene og sykehusene sammen med \
Innovasjon Norge
- bidra til økt eksport av helseteknologi via Eksportfinansiering Norge
- utrede en ny ordning for tilgang til kapital for oppstartsbedrifter <under 5 år>
"""


# --- Fixtures ----------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[Path, list[DocumentResult]]:
    """Two real document JSONs (blank NLP), in an outputs folder with a run manifest and a stray JSON beside."""
    work = tmp_path_factory.mktemp("report")
    out = work / "outputs"
    (out / "runs").mkdir(parents=True)
    documents = []
    for name, text in (("plan-2024", PLAN_2024), ("plan-2026", PLAN_2026)):
        source = work / f"{name}.txt"
        source.write_text(text, encoding="utf-8")
        result = analyse_document(source, PipelineConfig(nlp="blank"))
        (out / f"{name}.json").write_text(result.model_dump_json(indent=2), encoding="utf-8")
        documents.append(result)
    (out / "runs" / "20240101T000000Z.json").write_text(json.dumps({"run_id": "x", "documents": []}))
    first = documents[0]
    # The fixture is only useful if the texts exercise what the report shows.
    assert [m.strength for m in first.measures] == ["binding", "exploratory", "intention"]
    assert len(first.focus_areas) >= 2
    assert any(a.name == "Innovasjon Norge" and len(a.mentions) >= 3 for a in first.actors)
    assert first.persons, "a person should be found (Næringsminister …)"
    return out, documents


@pytest.fixture(scope="module")
def comparison(outputs) -> dict:
    """The comparison JSON as a plain dict: from pipeline.research.compare when it is there, else written by hand in the
    same shape."""
    _, (a, b) = outputs
    try:
        from pipeline.research.compare import compare_documents
    except ImportError:
        compare_documents = None
    if compare_documents is not None:
        return compare_documents([a, b]).model_dump(mode="json")

    def focus(doc: DocumentResult) -> list[dict]:
        return [{"label": f.label, "count": f.count, "share": f.share} for f in doc.focus_areas]

    am, bm = a.measures, b.measures
    return {
        "kind": "comparison",
        "documents": [{"index": i, "id": d.document.id, "title": d.document.title, "focus_areas": focus(d)}
                      for i, d in enumerate((a, b))],
        "pairs": [{
            "a": 0, "b": 1, "a_id": a.document.id, "b_id": b.document.id,
            "aligned": [
                {"a_id": am[0].id, "b_id": bm[0].id, "a_text": am[0].text, "b_text": bm[0].text, "similarity": 0.88,
                 "status": "continued", "changed": ["wording"]},
                {"a_id": am[2].id, "b_id": bm[1].id, "a_text": am[2].text, "b_text": bm[1].text, "similarity": 0.88,
                 "status": "modified", "changed": ["wording", "actors"], "actors_removed": ["Innovasjon Norge"]},
            ],
            "new": [{"id": bm[2].id, "text": bm[2].text, "strength": bm[2].strength}],
            "dropped": [{"id": am[1].id, "text": am[1].text, "strength": am[1].strength}],
        }],
    }


@pytest.fixture(scope="module")
def report_file(outputs, comparison, tmp_path_factory) -> Path:
    _, documents = outputs
    return write_report(tmp_path_factory.mktemp("html") / "rapport.html", documents, comparison)


# --- Without a browser ---------------------------------------------------------------------------------------------

class _Page(HTMLParser):
    """Collects what the self-containment checks need, and checks that <mark> elements nest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.doc_texts: list[str] = []
        self.doc_marks: list[dict[str, str | None]] = []  # <mark> elements inside the document texts
        self.open: list[str] = []
        self._in: str | None = None
        self._doc_depth = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag in {"script", "style"}:
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")
        if tag == "div" and "doc-text" in (attributes.get("class") or "").split():
            self._doc_depth = 1
            self.doc_texts.append("")
        elif tag == "div" and self._doc_depth:
            self._doc_depth += 1
        if tag == "mark" and self._doc_depth:
            self.doc_marks.append(attributes)
        if tag in {"mark", "div", "span", "section", "table", "tr", "td", "g", "svg"}:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if tag in {"script", "style"}:
            self._in = None
        if tag == "div" and self._doc_depth:
            self._doc_depth -= 1
        if tag in {"mark", "div", "span", "section", "table", "tr", "td", "g", "svg"}:
            assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1] if self.open else None}>"
            self.open.pop()

    def handle_data(self, data):
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data
        else:
            self.text.append(data)
        if self._doc_depth:
            self.doc_texts[-1] += data


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert page.open == [], f"unclosed elements: {page.open}"
    return page


def test_highlight_nests_crossing_and_shared_spans():
    text = "Innovasjon Norge & <NFR> skal «bidra»"
    spans = [
        HighlightSpan(0, 24, 0, "mark", attrs=(("class", "m"),), first_attrs=(("id", "x-m1"),)),
        HighlightSpan(0, 16, 1, "mark", attrs=(("class", "a"),)),  # starts with the measure
        HighlightSpan(19, 29, 1, "mark", attrs=(("class", "a"),)),  # crosses the measure's end
        HighlightSpan(5, 5, 1, "mark"),  # empty: ignored
        HighlightSpan(30, 99, 1, "mark"),  # out of range: ignored
    ]
    html = str(highlight(text, spans))
    assert html == (
        '<mark class="m" id="x-m1"><mark class="a">Innovasjon Norge</mark> &amp; '
        '<mark class="a">&lt;NFR&gt;</mark></mark><mark class="a" data-cont="1"> skal</mark> «bidra»'
    )
    page = _parse(f"<div class='doc-text'>{html}</div>")
    assert page.doc_texts == [text]


def test_report_is_self_contained_and_escaped(outputs, comparison):
    _, documents = outputs
    html = render_report(documents, comparison)
    page = _parse(html)

    # No external resource of any kind: every link is an in-page anchor, no resource element, no CSS url().
    forbidden = {"link", "img", "iframe", "object", "embed", "video", "audio", "source", "base", "form", "image",
                 "use", "picture", "track"}
    assert not [tag for tag, _ in page.tags if tag in forbidden]
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data", "background"):
            value = attrs.get(name)
            if value is not None:
                assert name == "href" and value.startswith("#"), (tag, name, value)
    assert [attrs for tag, attrs in page.tags if tag == "script"] == [{}]
    for css in [*page.styles, *(attrs.get("style") or "" for _, attrs in page.tags)]:
        assert "url(" not in css and "@import" not in css
    # "http(s)://" appears only as the document's own text, never in markup.
    urls = re.findall(r"https?://", html)
    assert urls, "the test text has a URL"
    assert len(urls) == len(re.findall(r"https?://", "".join(page.text)))

    # The Content-Security-Policy forbids every fetch and allows the one inline script by its hash.
    csp = next(attrs["content"] for tag, attrs in page.tags if tag == "meta" and attrs.get("http-equiv"))
    digest = base64.b64encode(hashlib.sha256(page.scripts[0].encode("utf-8")).digest()).decode()
    assert "default-src 'none'" in csp and f"'sha256-{digest}'" in csp and "connect-src 'none'" in csp

    # Escaped: the texts' <, & and «» come through as text, never as markup.
    assert "&lt;under 5 år&gt;" in html and "<under 5" not in html
    assert "Eksportfinansiering Norge</mark> &amp; <mark" in html
    assert "«utprøving av helseteknologi»" in html

    # The highlighted text is exactly the document's text, with one first <mark> per measure and one per mention.
    assert page.doc_texts == [d.text for d in documents]
    ids = {attrs.get("id") for tag, attrs in page.tags if tag == "mark"}
    for document in documents:
        assert {report_anchor(document.document.id, m.id) for m in document.measures} <= ids
    marks = [attrs for attrs in page.doc_marks if "data-cont" not in attrs]
    mentions = sum(len(a.mentions) for d in documents for a in [*d.actors, *d.persons])
    assert sum("a" in attrs["class"].split() for attrs in marks) == mentions
    assert sum("m" in attrs["class"].split() for attrs in marks) == sum(len(d.measures) for d in documents)
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and attrs.get("class") == "measure-row"]
    assert [(r["data-measure"], r["data-strength"]) for r in rows] == [
        (m.id, m.strength) for d in documents for m in d.measures]


def test_report_for_one_document_has_no_comparison(outputs):
    _, documents = outputs
    html = render_report(documents[:1])
    assert 'id="sammenligning"' not in html
    assert "<title>Tiltaksrapport: Handlingsplan for helsenæring 2024</title>" in html
    assert "3 av 3 tiltak vises" in html


def test_comparison_model_renders_like_its_json(outputs):
    compare = pytest.importorskip("pipeline.research.compare")
    _, documents = outputs
    model = compare.compare_documents(documents)
    from_model = render_report(documents, model)
    from_json = render_report(documents, model.model_dump(mode="json"))
    strip_time = re.compile(r"laget [0-9-]+ [0-9:]+ UTC")
    assert strip_time.sub("", from_model) == strip_time.sub("", from_json)


def test_measure_fields_the_report_does_not_know_are_shown(outputs, monkeypatch):
    """A field the schema gains later (e.g. a development goal per measure) shows under the measure, searchable."""
    from pydantic import create_model

    from pipeline.research import report
    from pipeline.research.export import Column

    _, (document, _) = outputs
    extended = create_model("WithGoal", __base__=type(document.measures[0]), sdg_goal=(str | None, None))
    measures = [extended(**m.model_dump(), sdg_goal="Helse <3>" if i == 0 else None)
                for i, m in enumerate(document.measures)]
    monkeypatch.setattr(report, "extra_measure_columns", lambda: (Column("sdg_goal", "text", "UN goal"),))
    html = render_report([document.model_copy(update={"measures": measures})])
    row = html[html.index(f'data-measure="{measures[0].id}"'):]
    row = row[:row.index("</tr>")]
    assert '<div class="runner extra">sdg goal: Helse &lt;3&gt;</div>' in row
    assert "helse &lt;3&gt;" in row.split('data-search="')[1].split('"')[0]
    assert html.count('class="runner extra"') == 1  # no line for a measure without the field


def test_report_strings_in_english_and_unknown_language(outputs):
    _, documents = outputs
    html = render_report(documents[:1], lang="en")
    assert '<html lang="en">' in html and "3 of 3 measures shown" in html and ">Binding<" in html
    assert "<title>Measures report: Handlingsplan for helsenæring 2024</title>" in html
    assert "Alle aktører" not in html and "tiltak vises" not in html
    with pytest.raises(TiltakError, match="unknown report language 'de'"):
        render_report(documents[:1], lang="de")


def _cli() -> typer.Typer:
    from pipeline.cli.report import register

    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    return app


def test_cli_report_writes_one_file_from_a_folder(outputs, comparison, tmp_path):
    out_dir, _ = outputs
    folder = tmp_path / "outputs"
    shutil.copytree(out_dir, folder)
    (folder / "comparison.json").write_text(json.dumps(comparison, ensure_ascii=False), encoding="utf-8")
    target = tmp_path / "site" / "rapport.html"
    result = CliRunner().invoke(_cli(), ["report", str(folder), "--comparison", str(folder / "comparison.json"),
                                         "--out", str(target)])
    assert result.exit_code == 0, result.output
    assert str(target) in result.output and "2 documents" in result.output
    assert "comparison.json: a comparison JSON" in result.output  # found in the folder: skipped, with a note
    html = target.read_text(encoding="utf-8")
    assert html.count('class="card document"') == 2 and 'id="sammenligning"' in html
    assert not [p for p in target.parent.iterdir() if p.name != "rapport.html"]  # no temporary file left


def test_cli_report_refuses_what_it_cannot_use(outputs, tmp_path):
    out_dir, _ = outputs
    app = _cli()
    missing = CliRunner().invoke(app, ["report", str(tmp_path / "mangler")])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    (tmp_path / "empty").mkdir()
    empty = CliRunner().invoke(app, ["report", str(tmp_path / "empty")])
    assert empty.exit_code == 2 and "no document JSONs" in empty.output
    (tmp_path / "x.json").write_text("[1, 2]")
    bad = CliRunner().invoke(app, ["report", str(out_dir), "--comparison", str(tmp_path / "x.json"),
                                   "--out", str(tmp_path / "r.html")])
    assert bad.exit_code == 2 and "not a comparison JSON" in bad.output
    not_document = CliRunner().invoke(app, ["report", str(tmp_path / "x.json")])
    assert not_document.exit_code == 2 and "not a tiltak document JSON" in not_document.output


# --- In headless Chromium ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium and chromium-driver to run the browser tests")
    assert CHROMEDRIVER.exists(), f"{CHROMEDRIVER} is missing: apt-get install -y chromium-driver"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="tiltak-chromium-") as profile, pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager download a browser or driver
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--disable-dev-shm-usage", f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER), env=dict(os.environ)))
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def page(browser, report_file):
    browser.get(report_file.as_uri())
    return browser


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_document_in_chromium(page, outputs, tmp_path):
    from PIL import Image
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _, (document, _) = outputs
    shot = tmp_path / "rapport.png"
    assert page.save_screenshot(str(shot))
    width, height = _png_size(shot.read_bytes())
    assert width == WINDOW[0] and height > 1000 and shot.stat().st_size > 20_000
    with Image.open(shot) as image:  # the dark header band is what the page shows at the top
        r, g, b = image.convert("RGB").getpixel((5, 5))
        assert (r, g, b) == (0x1D, 0x2F, 0x4F)

    # Nothing was fetched and nothing was blocked or failed (a wrong script hash would log a CSP error).
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert [entry for entry in page.get_log("browser") if entry["level"] == "SEVERE"] == []
    assert page.title == "Tiltaksrapport"

    section = page.find_element(By.ID, "d1")
    assert section.find_element(By.CSS_SELECTOR, "h2.doc-title").text == "Handlingsplan for helsenæring 2024"
    count = section.find_element(By.CSS_SELECTOR, ".count")
    rows = section.find_elements(By.CSS_SELECTOR, "tr.measure-row")
    assert count.text == "3 av 3 tiltak vises" and len(rows) == 3 and all(r.is_displayed() for r in rows)

    # Every measure is highlighted in the text, with exactly its own text; every mention too.
    for measure in document.measures:
        marks = section.find_elements(By.CSS_SELECTOR, f'mark.m[data-measure="{measure.id}"]')
        assert "".join(m.get_attribute("textContent") for m in marks) == measure.text
        assert marks[0].get_attribute("data-strength") == measure.strength
    mentions = sum(len(a.mentions) for a in [*document.actors, *document.persons])
    assert len(section.find_elements(By.CSS_SELECTOR, ".doc-text mark.a")) == mentions
    text_box = section.find_element(By.CSS_SELECTOR, ".doc-text")
    text_box.screenshot(str(tmp_path / "tekst.png"))
    with Image.open(tmp_path / "tekst.png") as image:  # the measure and actor highlight colours are on screen
        colours = {colour for _, colour in image.convert("RGB").getcolors(maxcolors=1 << 20)}
        assert (0xFF, 0xF1, 0xA8) in colours and (0xD7, 0xEB, 0xFF) in colours

    # The focus-area chart: one bar per focus area, labelled with the areas' names.
    bars = section.find_elements(By.CSS_SELECTOR, "svg.area-chart rect.bar")
    assert [b.get_attribute("data-focus") for b in bars] == [f.label for f in document.focus_areas]
    labels = [t.text for t in section.find_elements(By.CSS_SELECTOR, "svg.area-chart text.label")]
    assert labels == [f.name for f in document.focus_areas]
    actor_names = [r.find_element(By.TAG_NAME, "td").text for r in section.find_elements(By.CSS_SELECTOR,
                                                                                         "tr.actor-row")]
    assert actor_names[0].startswith("Innovasjon Norge") and any("Vestre" in n for n in actor_names)

    # Filtering by strength: one binding measure; the count, the rows and the marks follow.
    strength = Select(section.find_element(By.CSS_SELECTOR, "select.filter-strength"))
    assert [o.text for o in strength.options] == ["Alle styrker", "Bindende (1)", "Intensjon (1)", "Utredende (1)"]
    strength.select_by_value("binding")
    assert count.text == "1 av 3 tiltak vises"
    visible = [r.get_attribute("data-measure") for r in rows if r.is_displayed()]
    assert visible == [m.id for m in document.measures if m.strength == "binding"]
    dimmed = {m.get_attribute("data-measure") for m in section.find_elements(By.CSS_SELECTOR, "mark.m.dim")}
    assert dimmed == {m.id for m in document.measures if m.strength != "binding"}

    # Adding a focus area that no binding measure has leaves none; clearing both shows all again.
    focus = Select(section.find_element(By.CSS_SELECTOR, "select.filter-focus"))
    binding_area = next(m.focus_area for m in document.measures if m.strength == "binding")
    other_area = next(f.label for f in document.focus_areas if f.label != binding_area)
    focus.select_by_value(other_area)
    assert count.text == "0 av 3 tiltak vises" and not [r for r in rows if r.is_displayed()]
    strength.select_by_value("")
    expected = [m.id for m in document.measures if m.focus_area == other_area]
    assert count.text == f"{len(expected)} av 3 tiltak vises"
    assert [r.get_attribute("data-measure") for r in rows if r.is_displayed()] == expected
    focus.select_by_value("")
    assert count.text == "3 av 3 tiltak vises"
    # The other document's filter is its own.
    assert page.find_element(By.CSS_SELECTOR, "#d2 .count").text == "3 av 3 tiltak vises"


def test_comparison_in_chromium(page, outputs, comparison):
    from selenium.webdriver.common.by import By

    _, documents = outputs
    section = page.find_element(By.ID, "sammenligning")
    pair = comparison["pairs"][0]
    rows = section.find_elements(By.CSS_SELECTOR, "tr.aligned-row")
    assert [r.get_attribute("data-status") for r in rows] == [a["status"] for a in pair["aligned"]]
    labels = {"continued": "Videreført", "modified": "Endret"}
    assert [r.find_element(By.CSS_SELECTOR, ".badge").text for r in rows] == [
        labels[a["status"]] for a in pair["aligned"]]
    for row, aligned in zip(rows, pair["aligned"], strict=True):
        assert aligned["a_text"] in row.find_element(By.CSS_SELECTOR, ".side-a").text
        assert aligned["b_text"] in row.find_element(By.CSS_SELECTOR, ".side-b").text
        changes = row.find_element(By.CSS_SELECTOR, ".changes").text
        assert all(CHANGE_LABELS[change] in changes for change in aligned["changed"]), changes
        assert f"{100 * aligned['similarity']:.0f} %" in row.text
    assert any(a["changed"] for a in pair["aligned"]), "the texts should give at least one changed measure"
    assert [li.text.split()[0] for li in section.find_elements(By.CSS_SELECTOR, ".new-list li")] == [
        m["id"] for m in pair["new"]]
    assert [li.text.split()[0] for li in section.find_elements(By.CSS_SELECTOR, ".dropped-list li")] == [
        m["id"] for m in pair["dropped"]]
    assert "<under 5 år>" in section.find_element(By.CSS_SELECTOR, ".new-list").text

    # The grouped chart: one group per focus area of either document, one bar per document in each.
    areas = {f.label for d in documents for f in d.focus_areas}
    groups = section.find_elements(By.CSS_SELECTOR, "svg.compare-chart g.group")
    assert {g.get_attribute("data-focus") for g in groups} == areas
    assert len(section.find_elements(By.CSS_SELECTOR, "svg.compare-chart rect.bar")) == len(areas) * len(documents)
    legend = [t.text for t in section.find_elements(By.CSS_SELECTOR, "svg.compare-chart .legend-item text")]
    assert legend == [d.document.title for d in documents]
    names = {f.name for d in documents for f in d.focus_areas}
    assert {t.text for t in section.find_elements(By.CSS_SELECTOR, "svg.compare-chart text.label")} == names

"""HTML: the article text of a web page (a government press release, an online white paper).

Scripts, styles, navigation, cookie banners, headers and footers are dropped; the main content (``<main>``,
``<article>`` or ``role="main"``) is kept when the page marks it. Headings, paragraphs, list items (with their
list, marker and nesting depth) and table rows become lines. Nothing is fetched: external resources are ignored.
The tree is walked iteratively, so deeply nested markup cannot exhaust the stack, and a page over
``MAX_HTML_BYTES`` is refused before it is parsed (the tree takes about 20 times the page's size).

The declared charset is used unless the bytes contradict it (valid UTF-8 with non-ASCII letters, single-byte
markup declared as UTF-16, or letters the declared code page turns into garbage): then the detected encoding wins,
with a warning naming both.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Callable
from pathlib import Path

import lxml.etree
import lxml.html

from pipeline.errors import UnsupportedFormatError
from pipeline.reading.loaders.limits import NO_LIMITS, LoadLimits
from pipeline.reading.loaders.text import decode_text
from pipeline.reading.source import LineKind, SourceDocument, SourceFormat, SourceLine

DROPPED_TAGS = frozenset({
    "script", "style", "noscript", "template", "svg", "nav", "form", "button", "iframe", "object",
    "select", "textarea", "input", "aside", "canvas", "video", "audio", "map", "head", "dialog",
})
# Void elements that libxml2's HTML 4 parser does not know are empty: it nests everything after them, up to the
# end of their parent, inside them. They hold no text of their own, so they are walked through, not dropped
# (dropping an <embed> would silently drop the rest of the page).
VOID_PASSTHROUGH = frozenset({"embed", "source", "track", "wbr", "keygen"})
DROPPED_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alert"})
_CHROME = re.compile(r"(?:^|[\s_-])(?:breadcrumbs?|cookie\w*|menu|navbar|nav|site-header|site-footer|skip\w*|"
                     r"share|sharing|social|related|newsletter|banner|footer|pagination)(?:$|[\s_-])", re.I)
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
LISTS = frozenset({"ul", "ol", "menu"})
BLOCKS = frozenset({
    "p", "div", "section", "article", "main", "header", "footer", "blockquote", "figure", "figcaption", "pre",
    "address", "dl", "dt", "dd", "li", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption",
    "body", "details", "summary", "center", *HEADINGS, *LISTS,
})
# libxml2's tree of a page takes about 20 times the page's size in memory (a 30 MB page: 600 MB at its peak).
# A web page, even a whole white paper saved as HTML, is a few MB; a larger one is refused before it is parsed.
MAX_HTML_BYTES = 40_000_000
_CHECK_EVERY = 2000  # elements walked between two checks of the clock
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACES = re.compile(r"\s+")
_TITLE_SITE = re.compile(r"(?<!\s)\s++[-|–]\s++[^-|–]*\.\w{2,}\s*$")


# Labels that browsers read as windows-1252 (the WHATWG encoding standard): pages declaring Latin-1 use its
# extra characters (– “ ” €) freely.
_WINDOWS_1252_LABELS = frozenset({"iso8859-1", "latin-1", "ascii", "cp1252", "windows-1252"})
_MOJIBAKE_RATIO = 0.1  # charset-normalizer's mess ratio above which a declared decoding is taken for garbage
_MESS_SAMPLE_CHARS = 20_000


def _decode(data: bytes, path: Path) -> tuple[str, str, list[str]]:
    """The page's text, the encoding used and warnings. A BOM wins; then the declared charset, unless the bytes
    contradict it: a page whose bytes are UTF-8 with non-ASCII letters, a "UTF-16" page whose markup is in single
    bytes, or a declared code page that turns the letters into garbage is read as detected, with a warning naming
    both."""
    declared = _CHARSET.search(data[:4096])
    if not declared or data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return decode_text(data, path)
    name = declared.group(1).decode("ascii", "ignore").lower()
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        text, encoding, warnings = decode_text(data, path)
        return text, encoding, [f"declared charset {name!r} is unknown; read as {encoding}", *warnings]
    if codec == "utf-8":
        text, encoding, warnings = decode_text(data, path)
        if encoding == "utf-8" and not warnings:
            return text, name, []
        return text, encoding, [f"declared charset {name!r} does not fit the bytes; read as {encoding}", *warnings]
    if not data.isascii() and _is_utf8(data):
        return data.decode("utf-8"), "utf-8", [
            f"declared charset {name!r} contradicts the bytes, which are UTF-8 with non-ASCII letters; read as "
            "UTF-8 (detected) instead of the declared charset"]
    if codec.startswith(("utf-16", "utf-32")):
        # The declaration was found in single-byte ASCII, so the page is not in UTF-16 or UTF-32.
        text, encoding, warnings = decode_text(data, path)
        return text, encoding, [f"declared charset {name!r} contradicts the bytes (the markup is in single bytes); "
                                f"read as {encoding} (detected)", *warnings]
    try:
        # cp1252 leaves five bytes undefined; Latin-1 reads them (as control characters) as browsers do.
        text = _decode_1252(data) if codec in _WINDOWS_1252_LABELS else data.decode(codec)
    except UnicodeDecodeError:
        text, encoding, warnings = decode_text(data, path)
        return text, encoding, [f"declared charset {name!r} does not fit the bytes; read as {encoding}", *warnings]
    if not data.isascii() and (detected := _less_garbled(data, text, path)) is not None:
        detected_text, encoding, warnings = detected
        return detected_text, encoding, [f"declared charset {name!r} contradicts the bytes (read as {name} the "
                                         f"letters are garbled); read as {encoding} (detected)", *warnings]
    return text, name, []


def _decode_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mess(text: str) -> float:
    """charset-normalizer's measure of garbage, over the lines holding non-ASCII characters (a sample)."""
    from charset_normalizer.md import mess_ratio

    sample = "\n".join(line for line in text.splitlines() if not line.isascii())[:_MESS_SAMPLE_CHARS]
    return mess_ratio(sample, maximum_threshold=1.0) if sample else 0.0


def _less_garbled(data: bytes, declared_text: str, path: Path) -> tuple[str, str, list[str]] | None:
    """A decoding of ``data`` clearly less garbled than the declared one, or None if the declared one is fine:
    the usual Norwegian reading (UTF-8, else cp1252), else charset-normalizer's best guess."""
    declared_mess = _mess(declared_text)
    if declared_mess <= _MOJIBAKE_RATIO:
        return None
    candidates = []
    with contextlib.suppress(UnsupportedFormatError):
        candidates.append(decode_text(data, path))
    import charset_normalizer

    if (best := charset_normalizer.from_bytes(data).best()) is not None:
        candidates.append((str(best), best.encoding, []))
    scored = [(_mess(text), index) for index, (text, _encoding, _warnings) in enumerate(candidates)]
    if not scored:
        return None
    mess, index = min(scored)
    return candidates[index] if mess < declared_mess / 2 else None


def _is_chrome(element: lxml.html.HtmlElement) -> bool:
    tag = element.tag.lower()
    if tag in VOID_PASSTHROUGH:
        return False
    if tag in DROPPED_TAGS or element.get("hidden") is not None or element.get("aria-hidden") == "true":
        return True
    if tag in {"header", "footer"} and not any(a.tag in {"main", "article"} for a in element.iterancestors()):
        # The page's own header and footer (site name, contact); an article's header holds its title.
        return tag == "footer" or element.find(".//h1") is None
    if (element.get("role") or "").lower() in DROPPED_ROLES:
        return True
    marks = f"{element.get('class') or ''} {element.get('id') or ''}"
    return tag not in {"body", "main", "article"} and bool(_CHROME.search(marks))


def _main_content(root: lxml.html.HtmlElement) -> lxml.html.HtmlElement:
    for query in ("//main", "//*[@role='main']", "//article"):
        found = root.xpath(query)
        if len(found) == 1 or (found and query != "//article"):
            return found[0]
    body = root.find("body")
    return body if body is not None else root


def _clean(text: str) -> str:
    return _SPACES.sub(" ", text.replace("\xad", "")).strip()


class _Walker:
    """Turns an element tree into lines, one per block element, without recursion."""

    def __init__(self) -> None:
        self.lines: list[SourceLine] = []
        self.buffer: list[str] = []
        self.lists: list[dict] = []  # open <ul>/<ol>: key, ordered, next number
        self.item: dict | None = None  # the open <li>, if any (paragraphs inside it belong to it)
        self.heading: int | None = None
        self.row: list[str] | None = None
        self.list_count = 0

    def flush(self) -> None:
        text = _clean("".join(self.buffer))
        self.buffer.clear()
        if not text:
            return
        if self.row is not None:
            self.row.append(text)
        elif self.heading is not None:
            self.lines.append(SourceLine(text=text, page=None, kind=LineKind.HEADING, level=self.heading))
        elif self.item is not None:
            item = self.item
            kind_marker = item["marker"] if not item["emitted"] else None
            self.lines.append(SourceLine(text=text, page=None, kind=LineKind.LIST_ITEM if not item["emitted"]
                                         else LineKind.PARAGRAPH, level=item["level"], marker=kind_marker,
                                         list_key=item["key"] if not item["emitted"] else None))
            item["emitted"] = True
        else:
            self.lines.append(SourceLine(text=text, page=None, kind=LineKind.PARAGRAPH))

    def start(self, element: lxml.html.HtmlElement) -> dict | None:
        """Open ``element``; returns what ``end`` must restore."""
        tag = element.tag.lower()
        if tag == "br":
            self.buffer.append(" ")
            return None
        if tag not in BLOCKS:
            return None
        inside_item = self.item is not None and tag not in LISTS and tag != "li"
        if inside_item and tag not in HEADINGS:
            return None  # <li><p>…</p></li>: the paragraph is the item's text
        self.flush()
        saved = {"item": self.item, "heading": self.heading}
        if tag in LISTS:
            self.list_count += 1
            start = element.get("start")
            self.lists.append({"key": f"html-list-{self.list_count}", "ordered": tag == "ol",
                               "next": int(start) if start and start.isdigit() else 1})
            self.item = None
        elif tag == "li" and self.lists:
            current = self.lists[-1]
            marker = f"{current['next']}." if current["ordered"] else "•"
            current["next"] += 1
            self.item = {"key": current["key"], "marker": marker, "level": len(self.lists), "emitted": False}
        elif tag in HEADINGS:
            self.heading = HEADINGS[tag]
        elif tag == "tr":
            self.row = []
        return saved

    def end(self, element: lxml.html.HtmlElement, saved: dict | None) -> None:
        tag = element.tag.lower()
        if saved is not None:
            self.flush()
            if tag == "tr" and self.row is not None:
                if self.row:
                    self.lines.append(SourceLine(text=" | ".join(self.row), page=None, kind=LineKind.TABLE_ROW))
                self.row = None
            if tag in LISTS and self.lists:
                self.lists.pop()
            self.item, self.heading = saved["item"], saved["heading"]

    def walk(self, root: lxml.html.HtmlElement, check_time: Callable[[], None] = lambda: None) -> list[SourceLine]:
        stack: list[tuple[object, bool, dict | None]] = [(root, False, None)]
        steps = 0
        while stack:
            steps += 1
            if steps % _CHECK_EVERY == 0:
                check_time()
            element, closing, saved = stack.pop()
            if closing:
                self.end(element, saved)
                if element.tail:
                    self.buffer.append(element.tail)
                continue
            if not isinstance(element.tag, str) or _is_chrome(element):
                if element.tail:  # comments, processing instructions and dropped chrome keep their tail text
                    self.buffer.append(element.tail)
                continue
            opened = self.start(element)
            stack.append((element, True, opened))
            if element.text:
                self.buffer.append(element.text)
            stack.extend((child, False, None) for child in reversed(element))
        self.flush()
        return self.lines


def _title(root: lxml.html.HtmlElement, content: lxml.html.HtmlElement) -> str | None:
    for query in ("//meta[@property='og:title']/@content",):
        found = root.xpath(query)
        if found and _clean(found[0]):
            return _clean(found[0])
    heading = content.find(".//h1")
    if heading is not None and _clean(heading.text_content()):
        return _clean(heading.text_content())
    title = root.find(".//title")
    if title is not None and _clean(title.text_content()):
        return _TITLE_SITE.sub("", _clean(title.text_content()))
    return None


# Meta tags that state when a page was published, in order of preference (names compared in lower case).
_DATE_META = ("dc.date.issued", "dcterms.issued", "dc.date", "dcterms.date", "article:published_time",
              "og:published_time", "datepublished", "date", "publish-date", "publication_date")
_ISSUER_META = ("dc.publisher", "dcterms.publisher", "dc.creator", "dcterms.creator")


def _meta_values(root: lxml.html.HtmlElement) -> dict[str, str]:
    """The page's meta tags by name, property or itemprop (lower case), the first of each."""
    values: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("name") or meta.get("property") or meta.get("itemprop") or "").strip().lower()
        content = _clean(meta.get("content") or "")
        if key and content and key not in values:
            values[key] = content
    return values


def _published(root: lxml.html.HtmlElement, content: lxml.html.HtmlElement, meta: dict[str, str]) -> str | None:
    """The publication date as the page states it: a meta tag, else the first ``<time datetime>`` of the article
    (of the page when the article has none)."""
    for key in _DATE_META:
        if key in meta:
            return meta[key]
    for scope in (content, root):
        for element in scope.iter("time"):
            if stamp := _clean(element.get("datetime") or ""):
                return stamp
    return None


# Stops at the next "<": a run of "<div" without ">" is read once, not once per "<div" to the end of the page.
_CONTAINERS = re.compile(r"</?(?:div|span|section|font|center)\b[^<>]*+>", re.IGNORECASE)


def _parse(text: str, path: Path) -> lxml.html.HtmlElement | None:
    """The parsed page, or None when libxml2 gave up on its nesting depth (it then silently drops the rest)."""
    parser = lxml.html.HTMLParser(remove_comments=True, remove_pis=True, huge_tree=True, no_network=True)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise UnsupportedFormatError(path, f"cannot parse HTML: {exc}") from exc
    if any("depth" in entry.message.lower() for entry in parser.error_log):
        return None
    return root


def read(path: Path, data: bytes, limits: LoadLimits = NO_LIMITS) -> SourceDocument:
    if len(data) > MAX_HTML_BYTES:
        raise UnsupportedFormatError(path, f"HTML page of {len(data) / 1e6:,.1f} MB is larger than tiltak parses "
                                           f"({MAX_HTML_BYTES / 1e6:.0f} MB: the parsed page takes about 20 times "
                                           "its size in memory); save the article alone, or as PDF or text")
    text, encoding, warnings = _decode(data, path)
    text = _XML_DECLARATION.sub("", text, count=1)
    root = _parse(text, path)
    if root is None:
        # libxml2 stops at 2,048 levels of nesting and drops the rest; layout containers carry no meaning for
        # us, so read the page again without them rather than lose text.
        root = _parse(_CONTAINERS.sub(" ", text), path)
        if root is None:
            raise UnsupportedFormatError(path, "HTML nested too deeply to read (more than 2,048 levels)")
        warnings.append("HTML nested deeper than 2,048 levels; read with its div/span containers removed")
    limits.check_time(path, "load")
    content = _main_content(root)
    lines = _Walker().walk(content, lambda: limits.check_time(path, "load"))
    if not lines:
        warnings.append("no article text found in the HTML page")
    meta = _meta_values(root)
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.HTML, lines=lines,
                          title=_title(root, content), encoding=encoding, warnings=warnings,
                          published=_published(root, content, meta),
                          issuer=next((meta[key] for key in _ISSUER_META if key in meta), None))

"""HTML: the article text of a web page (a government press release, an online white paper).

Scripts, styles, navigation, cookie banners, headers and footers are dropped; the main content (``<main>``,
``<article>`` or ``role="main"``) is kept when the page marks it. Headings, paragraphs, list items (with their
list, marker and nesting depth) and table rows become lines. Nothing is fetched: external resources are ignored.
The tree is walked iteratively, so deeply nested markup cannot exhaust the stack.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.etree
import lxml.html

from pipeline.errors import UnsupportedFormatError
from pipeline.loaders import NO_LIMITS, LoadLimits
from pipeline.loaders.text import decode_text
from pipeline.source import LineKind, SourceDocument, SourceFormat, SourceLine

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
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w:.-]+)""", re.I)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_SPACES = re.compile(r"\s+")
_TITLE_SITE = re.compile(r"(?<!\s)\s++[-|–]\s++[^-|–]*\.\w{2,}\s*$")


def _decode(data: bytes, path: Path) -> tuple[str, str, list[str]]:
    declared = _CHARSET.search(data[:4096])
    if declared and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        name = declared.group(1).decode("ascii", "ignore").lower()
        try:
            return data.decode(name), name, []
        except (LookupError, UnicodeDecodeError):
            text, encoding, warnings = decode_text(data, path)
            return text, encoding, [f"declared charset {name!r} does not fit the bytes; read as {encoding}",
                                    *warnings]
    return decode_text(data, path)


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

    def walk(self, root: lxml.html.HtmlElement) -> list[SourceLine]:
        stack: list[tuple[object, bool, dict | None]] = [(root, False, None)]
        while stack:
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


_CONTAINERS = re.compile(r"</?(?:div|span|section|font|center)\b[^>]*>", re.IGNORECASE)


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
    lines = _Walker().walk(content)
    if not lines:
        warnings.append("no article text found in the HTML page")
    return SourceDocument(path=path, sha256="", size_bytes=len(data), format=SourceFormat.HTML, lines=lines,
                          title=_title(root, content), encoding=encoding, warnings=warnings)

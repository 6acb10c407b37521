"""Student HTML made inert before a page shows it: feedback pages and the formgrader.

A submission reaches an HTML page as markdown cells (markdown may hold any HTML), raw cells,
attachments, and outputs: ``text/html``, ``text/markdown``, ``text/latex``, ``image/svg+xml``,
``application/javascript``, widget views, images and their metadata. nbconvert's templates copy
most of that into the page as it is, so a script a student wrote would run in the browser of
whoever opens the page: for the formgrader, the instructor's logged-in Jupyter origin, which
reaches the kernels and every file.

Here, one allow-list decides what student HTML may be (``nh3``, the Python binding of Rust's
``ammonia`` sanitiser): ordinary text markup, tables, images embedded as ``data:`` (outputs,
attachments), links to ``http(s)``/``mailto``/``#anchors``, MathML, and ``style`` attributes
limited to harmless properties. Everything else goes, with its attributes: scripts (their
text too), event handlers (``onerror=``...), ``javascript:`` and other schemes, relative links
(the formgrader would open the student's own files in its origin), iframes, forms, ``<meta>``
(refresh), ``<base>``, ``<style>`` elements, inline SVG, ``url(...)`` and ``expression(...)``
in styles; and markup whose layout costs a browser far more than its size (ruby annotations,
``bdo``/``bdi``, ``dir`` and ``lang`` attributes, ``opacity``; table spans are cut to 100), and
images that would (``autograder.pages.image_budget``: SVG whose ``<use>`` elements multiply,
images of more than 25 million pixels), and MathML nested more than 32 deep is shown as its text
(``autograder.pages.mathml.bounded``). Ids get a ``student-`` prefix, so student markup cannot
stand in for the page's own elements.

- :func:`markdown2html` and :func:`strip_files_prefix` are the Jinja filters of that name,
  sanitised; markdown maths becomes MathML (``autograder.pages.mathml``), so pages need no MathJax.
- :class:`SanitizeNotebook` sanitises everything else before the template sees it: raw cells,
  outputs (``text/markdown`` and ``text/latex`` become sanitised ``text/html``; scripts and
  widget views are dropped), image data and metadata, attachments, widget state, and nbgrader
  metadata that would be copied into attributes.
- HTML nested deeper than :data:`MAX_NESTING` (by :func:`nesting_bound`, one pass) is shown as
  text and never parsed: the sanitiser's parser spends time in the square of the depth. What else
  a page may spend on a notebook is ``autograder.pages.page_budget``'s.

``FeedbackHTMLExporter`` (feedback pages) applies both by itself; the formgrader's exporter gets
them from ``nbgrader_config.py``. Each page also carries a Content-Security-Policy, so a
sanitiser miss still cannot run (see ``feedback_html`` and ``formgrader_safety``).
"""
from html import escape
import re

import nbformat
import nh3
from jinja2 import pass_context
from nbconvert.filters import strip_files_prefix as _nbconvert_strip_files_prefix
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from pygments.token import STANDARD_TYPES

from . import image_budget, markup, mathml, page_budget, text_blocks
from .page_budget import ANSI_CODES, MARKDOWN_PAST, PageBudget, as_text, bound_sources, bounded_ansi

ID_PREFIX = "student-"
PAGE_BUDGET = "course_page_budget"  # SanitizeNotebook's PageBudget in the page's resources

# Markup that costs the browser time far beyond its size (Chromium, measured on pages of their
# own): ruby annotations (200,000 in 2.2 MB: 261 s), text direction set element by element
# (bdo, bdi, and the dir attribute below: 80,000 alternating spans, 3.6 MB, 81 s), each
# element in a language of its own (the lang attribute: 80,000 spans, 2.2 MB, 72 s), each with
# an opacity (80,000: 30 s), and table cells or columns spanning many (80,000 <col span=1000>
# crashed its tab; 20,000 cells of colspan=1000 in one row took 14 s; rowspan=65534 on 40,000
# rows 35 s): the tags go (their text stays), the attributes too, spans are at most 100.
LAYOUT_COSTLY_TAGS = {"ruby", "rt", "rp", "rtc", "bdo", "bdi"}
MAX_SPAN = 100
TAGS = (nh3.ALLOWED_TAGS - {"area", "map"} - LAYOUT_COSTLY_TAGS) | {"tfoot"} | mathml.TAGS
# Removed with everything inside them (other tags that are not allowed lose the tag, keep the text).
DROPPED_WITH_CONTENT = {"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
                        "noscript", "noembed", "noframes", "template", "svg", "textarea", "select",
                        "title", "xmp", "plaintext", "head", "annotation-xml"}
_TABLE = {"align", "valign", "char", "charoff"}
ATTRIBUTES = {
    "*": {"class", "id", "title", "style"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "col": _TABLE | {"span", "width"}, "colgroup": _TABLE | {"span", "width"},
    "table": _TABLE | {"border", "cellpadding", "cellspacing", "width"},
    "thead": _TABLE, "tbody": _TABLE, "tfoot": _TABLE, "tr": _TABLE,
    "td": _TABLE | {"colspan", "rowspan", "headers"},
    "th": _TABLE | {"colspan", "rowspan", "headers", "scope"},
    **{tag: set(mathml.ATTRIBUTES) for tag in mathml.TAGS},
}
# ``style="..."`` keeps only these properties (nothing that loads a URL or moves the element
# over the page's own content: no background, position, z-index, content, transform; no opacity,
# for its cost above).
STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "font-variant", "text-align", "text-decoration", "text-indent", "text-transform", "vertical-align",
    "white-space", "word-break", "line-height", "letter-spacing", "width", "height", "max-width",
    "min-width", "max-height", "min-height", "border", "border-top", "border-right", "border-bottom",
    "border-left", "border-color", "border-style", "border-width", "border-collapse",
    "border-spacing", "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "margin", "margin-top", "margin-right", "margin-bottom", "margin-left", "display", "float",
    "clear", "list-style-type", "caption-side", "table-layout", "empty-cells",
}
URL_SCHEMES = {"http", "https", "mailto", "data"}  # data: only for images, see _attribute
# The classes an element of student markup keeps. A class means what the page's stylesheets and
# scripts say: Bootstrap's, inlined in the feedback page and loaded by the formgrader, make a
# ``modal`` a white sheet fixed over the whole window, above everything (a made-up score in
# place of the page, the formgrader's cells and score boxes out of reach) and a
# ``navbar-fixed-top`` link a bar over the formgrader's own navigation ("Next submission" to the
# student's site); the formgrader's scripts find their cells by class. Kept: Pygments' token
# classes (code an output highlights), nbconvert's ``highlight``, ``hl-<language>``,
# ``ansi-<colour>`` and a heading's ``anchor-link``, a code block's ``language-<name>``, pandas'
# ``dataframe``, and the classes this package writes itself (``mathml``, ``page_budget``,
# ``text_blocks``): each colours or lays out text in place.
SAFE_CLASSES = (frozenset(STANDARD_TYPES.values()) - {""}) | {
    "highlight", "hll", "anchor-link", "dataframe", "tex-source", "course-maths-as-text", "course-shown-as-text",
    text_blocks.LINE, text_blocks.PIECE_CLASS, text_blocks.CUT_CLASS}
_SAFE_CLASS = re.compile(r"(language|hl|ansi)-[A-Za-z0-9_+.-]{1,40}")
# Student markup is painted within its own cell: in both pages a markdown cell's text, an output
# and a raw cell (wrapped in RAW_CLASS by SanitizeNotebook) each contain their paint. What its
# allowed styles can still draw past the cell (a negative margin over the page's score, glyphs of
# a large font on a line of no height, a table wider than the page) is cut at the cell's edge,
# and anything fixed on the window would be fixed in the cell. Both pages carry this CSS.
RAW_CLASS = "course-raw-cell"
CONTAINED_STYLE = f"<style>.text_cell_render,.output_subarea,.{RAW_CLASS}{{contain:paint}}</style>"
PAGE_STYLE = text_blocks.STYLE + CONTAINED_STYLE  # the CSS the feedback page and the formgrader's page add

_LINK = re.compile(r"(https?://|mailto:)", re.IGNORECASE)
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
_STYLE_DANGER = re.compile(r"url\s*\(|image-set|expression|javascript|@import|behavio(u)?r|binding|\\",
                           re.IGNORECASE)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_GRADE_ID = re.compile(r"[A-Za-z0-9_.\-]+")


def _attribute(tag, attribute, value):
    """What nh3 keeps of an allowed attribute (``None``: drop it)."""
    value = value.strip()
    if attribute == "href":
        if value.startswith("#"):  # an anchor in the student's own (prefixed) ids
            return value if value.startswith("#" + ID_PREFIX) else "#" + ID_PREFIX + value[1:]
        # Relative links would open the student's own files in the formgrader's origin.
        return value if _LINK.match(value) else None
    if attribute == "src":
        # Images embedded as data only (pasted images are attachments, embedded so): a feedback
        # page opened from disk has no other file, and the network is not the page's to use.
        # An image that would cost the browser far more than its size is not shown either
        # (``image_budget``).
        return (value if _IMAGE_DATA.fullmatch(value)
                and not image_budget.data_url_problem(value, budget=page_budget.current_page()) else None)
    if attribute == "style":
        return None if _STYLE_DANGER.search(value) else value
    if attribute == "class":
        return " ".join(name for name in value.split() if name in SAFE_CLASSES or _SAFE_CLASS.fullmatch(name)) or None
    if attribute in ("rowspan", "colspan", "span"):  # 0 spans a rowspan to its group's end
        return str(min(max(int(value), 1), MAX_SPAN)) if re.fullmatch(r"[0-9]{1,9}", value) else None
    return value


_CLEANER = nh3.Cleaner(tags=TAGS, clean_content_tags=DROPPED_WITH_CONTENT, attributes=ATTRIBUTES,
                       attribute_filter=_attribute, url_schemes=URL_SCHEMES,
                       filter_style_properties=STYLE_PROPERTIES, strip_comments=True,
                       link_rel="noopener noreferrer nofollow", id_prefix=ID_PREFIX)


# -- HTML nested deeper than a parser can afford ------------------------------------------------
# html5ever, the parser inside nh3, does work in proportion to the depth of its stack of open
# elements for many tags (a <div> looks for an open <p> through the whole stack, an end tag for
# its element): HTML nested n deep costs it n * n steps. 200 kB of "<div>" took it 5.8 s here and
# 400 kB 25 s; the 4 MB of HTML one output may keep would take 40 minutes at that rate, in the
# worker's feedback, again in the grading process when that failed, and in the instructor's
# Jupyter server when the formgrader shows the submission. Browsers cap the depth of their own
# trees for the same reason (Chromium at 512); no page of the course nests more than a few dozen.
MAX_NESTING = 256
_TAG = re.compile(r"<(/?)([A-Za-z][^\s/>]*)")
# Start tags that close an open <p> at the top of the stack (HTML's "close a p element").
_CLOSES_P = {"address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div", "dl",
             "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main", "menu", "nav", "ol", "p",
             "search", "section", "summary", "ul", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "listing", "form",
             "plaintext", "table", "hr", "xmp", "li", "dd", "dt"}
# (element at the top, start tag) pairs where the start tag closes that element first: a list item
# the next one, a cell the next one...
_CLOSES_SIBLING = {("li", "li"), ("dt", "dt"), ("dt", "dd"), ("dd", "dd"), ("dd", "dt"), ("td", "td"),
                   ("td", "th"), ("th", "th"), ("th", "td"), ("td", "tr"), ("th", "tr"), ("tr", "tr"),
                   ("option", "option")}
_SCRIPT_START = re.compile(r"<(script|style)\b", re.IGNORECASE)
_SCRIPT_END = {name: re.compile(rf"</{name}[^>]{{0,64}}>", re.IGNORECASE) for name in ("script", "style")}


def nesting_bound(html, limit=MAX_NESTING):
    """A bound on how deep an HTML parser's stack of open elements gets for ``html``, counted up
    to a little past ``limit``, in one pass over its tags.

    Every start tag of an element that is not void counts as opened, and is closed only by its
    own end tag at the top, or by the few start tags that close it at the top for any parser (a
    block closes a <p>, a list item the one before it...). Anything a parser treats otherwise
    (text in <script> that looks like a tag, tags in comments or attributes, elements it closes
    on its own) only makes the bound higher than the parser's depth, or, where a table adds
    elements of its own (tbody, tr), lower by a constant factor, which is all the cost depends on.
    After an <svg> or <math> tag, elements nest as written (no implicit closing), so nothing closes
    but end tags."""
    if html.count("<") <= limit:
        return html.count("<")
    stack, deepest, foreign = [], 0, False
    for tag in _TAG.finditer(html):
        name = tag.group(2).lower()
        if tag.group(1):  # an end tag
            if stack and stack[-1] == name:
                stack.pop()
            continue
        if name in markup.VOID_ELEMENTS:
            continue
        foreign = foreign or name in ("svg", "math")
        while stack and not foreign and ((stack[-1] == "p" and name in _CLOSES_P) or (stack[-1], name) in _CLOSES_SIBLING):
            stack.pop()
        stack.append(name)
        if len(stack) > deepest:
            deepest = len(stack)
            if deepest > limit:
                break
    return deepest


def without_scripts(html):
    """``html`` without its <script> and <style> elements, start tag to end tag, in one pass: an
    element that is never closed, and what follows it, stay. (A regular expression that looks
    for the end of each start tag reads the rest of the text for every unclosed one: 8,000
    "<script>" took it 1.7 s here, and time grows with the square of their number.)"""
    parts, position = [], 0
    while (start := _SCRIPT_START.search(html, position)) is not None:
        end = _SCRIPT_END[start.group(1).lower()].search(html, start.end())
        if end is None:
            break
        parts.append(html[position:start.start()])
        position = end.end()
    parts.append(html[position:])
    return "".join(parts)


def sanitize(html, source=None, budget=None):
    """``html`` (a fragment a student controls) with only the allow-listed markup left.

    HTML nested deeper than :data:`MAX_NESTING` is tried again without its scripts and styles
    (the sanitiser drops them anyway, and code in them can look like tags); still too deep, it is
    never handed to the parser: ``source`` (what it was made from, such as markdown), or the HTML
    itself, is shown as text. Text that changes direction too often in one block, or holds a long
    run of combining marks, is cut into blocks (``text_blocks.html_in_blocks``). Its images spend
    of ``budget``, its page's :class:`~autograder.pages.page_budget.PageBudget`, where given."""
    if nesting_bound(html) > MAX_NESTING:
        html = without_scripts(html)
        if nesting_bound(html) > MAX_NESTING:
            return as_text(html if source is None else source, f"HTML nested more than {MAX_NESTING} elements deep")
    with page_budget.spending(budget):
        return text_blocks.html_in_blocks(mathml.bounded(_CLEANER.clean(html)))


class _SafeRenderer(IPythonRenderer):
    """nbconvert's markdown renderer with maths as MathML and attachments that cannot break it."""

    def block_math(self, body):
        return mathml.tex_to_mathml(body, display=True)

    def inline_math(self, body):
        return mathml.tex_to_mathml(body)

    def latex_environment(self, name, body):
        return mathml.tex_to_mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    def block_code(self, code, info=None):
        # A code block is shown as text (mistune's own markup, escaped), never given to the lexer
        # its student named: some of Pygments' lexers take minutes on a few hundred characters,
        # and Python's take 20 us a character on text written for them, which markdown's
        # 500,000 characters a page would multiply (``page_budget``).
        return text_blocks.pre_in_blocks(super(IPythonRenderer, self).block_code(code, info))

    def image(self, text, url, title=None):
        # Each image written into the page spends of its bytes (``image_budget.embeds``): one
        # shown already above is a note instead (an attachment anywhere on the page before, which
        # only markdown cells have, in the page's order; an image of data earlier in this
        # markdown), and so is an image past the budget.
        attachment = url.startswith("attachment:")
        src = self._embed_image_or_attachment(url)
        budget = getattr(self, "budget", None)
        if budget is not None and src.startswith("data:"):
            shown = budget.attachments if attachment else self.shown
            if src in shown:
                return _note("the same image as above")
            owed = budget.paid.pop(src, 0)  # spent before, for the sanitiser: not for this check
            why = image_budget.data_url_problem(src, budget=budget)
            budget.paid[src] = owed + (0 if why else 1)  # spent: the sanitiser checks it again
            if why:
                return _note(f"an image is not shown: {why}")
            shown.add(src)
        return super(IPythonRenderer, self).image(text, src, title)

    def _embed_image_or_attachment(self, src):
        # nbconvert raises on a missing attachment (no feedback at all for that student) and
        # takes any key of the attachment as a MIME type: only real images are embedded here.
        if src.startswith("attachment:"):
            bundle = self.attachments.get(src[len("attachment:"):], {})
            for mime in ("image/png", "image/jpeg", "image/gif", "image/svg+xml"):
                data = bundle.get(mime) if isinstance(bundle, dict) else None
                if isinstance(data, str) and _BASE64.fullmatch(data):
                    return f"data:{mime};base64,{data}"
            return ""
        return src  # never read from disk (embed_images stays off)


def _note(text):
    return f"<em>({escape(text)})</em>"


def markdown_to_html(source, attachments=None, budget=None):
    """Markdown (a cell, an output, a grader's comment) as sanitised HTML with MathML maths; its
    images spend of ``budget`` (its page's; else a budget of its own)."""
    budget = PageBudget() if budget is None else budget
    renderer = _SafeRenderer(escape=False, attachments=attachments or {}, anchor_link_text="¶")
    renderer.budget, renderer.shown = budget, set()
    return sanitize(MarkdownWithMath(renderer=renderer).render(source), source, budget)


# Markdown turned into HTML beforehand by :func:`remember_markdown` (the released notebooks'
# markdown cells, the same in every submission: ``worker/warm.py``), kept by its text, and that
# HTML as ``strip_files_prefix`` leaves it. Only HTML that spent nothing of its page's budget is
# kept: what the two filters make of the same text now, on any page. Nothing else is kept.
_KNOWN_HTML = {}      # markdown -> markdown_to_html(markdown)
_KNOWN_STRIPPED = {}  # that HTML -> strip_files_prefix(HTML)


def remember_markdown(source):
    """Turn ``source`` into HTML now, as the markdown of a cell without attachments, and keep
    it (and its HTML with the files/ prefixes stripped) where it spent nothing of its budget."""
    if not isinstance(source, str):
        return
    budget = PageBudget()
    html = markdown_to_html(source, budget=budget)
    if vars(budget) == vars(PageBudget()):
        _KNOWN_HTML[source] = html
        _KNOWN_STRIPPED[html] = strip_files_prefix(html)


@pass_context
def markdown2html(context, source):
    """The ``markdown2html`` Jinja filter, sanitised (the cell's attachments are its images, which
    spend of the page's budget that SanitizeNotebook left in its resources)."""
    cell = context.get("cell") or {}
    attachments = cell.get("attachments") if hasattr(cell, "get") else None
    if not attachments and isinstance(source, str):
        known = _KNOWN_HTML.get(source)
        if known is not None:
            return known
    resources = context.get("resources")
    budget = resources.get(PAGE_BUDGET) if isinstance(resources, dict) else None
    return markdown_to_html(source, attachments if isinstance(attachments, dict) else None,
                            budget if isinstance(budget, PageBudget) else None)


def strip_files_prefix(html):
    """The ``strip_files_prefix`` Jinja filter, sanitised again afterwards: it turns
    ``href="files/javascript:..."``, harmless as a relative link, into ``javascript:...``."""
    known = _KNOWN_STRIPPED.get(html) if isinstance(html, str) else None
    return known if known is not None else sanitize(_nbconvert_strip_files_prefix(html))


# The filters by their Jinja names, as import strings for ``HTMLExporter.filters``.
FILTERS = {"markdown2html": f"{__name__}.markdown2html",
           "strip_files_prefix": f"{__name__}.strip_files_prefix",
           "highlight_code": "autograder.pages.page_budget.highlight_code",
           "ansi2html": "autograder.pages.text_blocks.ansi2html"}

# Output data a page may show, once checked; anything else (application/javascript, widget
# views, text/vnd.mermaid, application/json, PDFs...) is dropped.
_IMAGES = {"image/png", "image/jpeg"}
_IMAGE_METADATA = {"width", "height", "alt", "unconfined"}
_RAW_SHOWN = {"", "text/html", "html"}


def _text(value):
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def _number(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{1,5}(\.\d{1,3})?", value.strip()):
        return value.strip()
    return None


def sanitize_output(output, budget=None):
    """One output of a code cell, in place, as a page may show it; its markdown is rendered
    within ``budget`` (the page's :class:`~autograder.pages.page_budget.PageBudget`), its colour
    codes bounded (``page_budget.bounded_ansi``)."""
    budget = budget or PageBudget()
    codes = [ANSI_CODES]
    if output.get("output_type") in ("stream", "error"):
        for key in ("text", "ename", "evalue"):
            if key in output:
                value = _text(output[key])
                output[key] = "" if value is None else bounded_ansi(value, codes)
        if output.get("output_type") == "error":
            lines = output.get("traceback")
            lines = [bounded_ansi(line, codes) for line in (lines if isinstance(lines, list) else [])
                     if isinstance(line, str)]
            # The template colours each line alone: one long traceback in one piece, to be cut into
            # blocks (text_blocks) as a whole.
            output["traceback"] = ["\n".join(lines)] if sum(map(len, lines)) > text_blocks.LARGE else lines
        return output
    data, shown = output.get("data") or {}, {}
    text = {mime: _text(value) for mime, value in data.items() if _text(value) is not None}
    if "text/plain" in text:
        shown["text/plain"] = bounded_ansi(text["text/plain"], codes)
    if "text/html" in text:
        shown["text/html"] = sanitize(text["text/html"], budget=budget)
    elif "text/markdown" in text or "text/latex" in text:
        markdown = text.get("text/markdown", text.get("text/latex"))
        shown["text/html"] = (markdown_to_html(markdown, budget=budget) if budget.renders(markdown)
                              else as_text(markdown, MARKDOWN_PAST))
    if "text/latex" in text:
        shown["text/latex"] = text["text/latex"]  # escaped by the templates; MathJax reads it
    refused = []  # images that would cost the browser far more than their size (image_budget)
    if "image/svg+xml" in text:  # shown as <img src="data:...">: inert
        svg = text["image/svg+xml"]  # embedded as base64 by the templates
        why = (image_budget.svg_problem(svg, budget=budget)
               or image_budget.embeds(budget, svg, size=4 * (len(svg.encode("utf-8", "replace")) + 2) // 3))
        if why:
            refused.append(f"an SVG image is not shown: {why}")
        else:
            shown["image/svg+xml"] = text["image/svg+xml"]
    for mime in _IMAGES:
        if mime in text and _BASE64.fullmatch(text[mime]):
            why = image_budget.data_url_problem(f"data:{mime};base64,{text[mime]}", budget=budget)
            if why:
                refused.append(f"an image is not shown: {why}")
            else:
                shown[mime] = text[mime]
    if refused:
        shown["text/plain"] = "".join(f"({note})\n" for note in refused) + shown.get("text/plain", "")
    metadata = {}
    for mime in _IMAGES & shown.keys():
        given = (output.get("metadata") or {}).get(mime)
        if isinstance(given, dict):
            kept = {key: given[key] for key in _IMAGE_METADATA & given.keys()}
            for key in ("width", "height"):  # written unquoted into <img width=...>
                if key in kept and _number(kept[key]) is None:
                    del kept[key]
            if not isinstance(kept.get("alt", ""), str):
                del kept["alt"]
            kept["unconfined"] = kept.get("unconfined") is True
            metadata[mime] = kept
    output["data"] = nbformat.from_dict(shown)
    output["metadata"] = nbformat.from_dict(metadata)  # no "isolated" iframes, no file names
    if "execution_count" in output and not isinstance(output["execution_count"], int):
        output["execution_count"] = None
    return output


class SanitizeNotebook(Preprocessor):
    """Everything of a notebook that a page would copy as HTML, sanitised (see the module's doc).
    Markdown cells keep their source: the sanitised ``markdown2html`` filter renders them."""

    def __call__(self, nb, resources):
        return self.preprocess(nb, resources)  # always on: no ``enabled`` switch to forget

    def preprocess(self, nb, resources):
        self.budget = bound_sources(nb)  # what the page may still spend on its outputs' markdown, images
        resources[PAGE_BUDGET] = self.budget  # and on its markdown cells' images (markdown2html)
        nb.metadata.pop("widgets", None)
        if not isinstance(nb.metadata.get("title", ""), str):
            nb.metadata.pop("title")
        for index, cell in enumerate(nb.cells):
            nb.cells[index], resources = self.preprocess_cell(cell, resources, index)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if nbgrader is not None and not (isinstance(nbgrader, dict)
                                         and _GRADE_ID.fullmatch(str(nbgrader.get("grade_id", "x")))):
            del cell.metadata["nbgrader"]  # its grade_id would be written into attributes as is
        if "attachments" in cell and not isinstance(cell.attachments, dict):
            del cell["attachments"]
        if cell.cell_type == "raw":
            mime = cell.get("metadata", {}).get("raw_mimetype", "")
            if not isinstance(mime, str):
                cell.metadata["raw_mimetype"] = mime = "text/plain"
            if mime.lower() in _RAW_SHOWN:
                shown = sanitize(_text(cell.source) or "", budget=getattr(self, "budget", None))
                cell.source = f'<div class="{RAW_CLASS}">{shown}</div>'
        elif cell.cell_type == "code":
            if not isinstance(cell.get("execution_count"), (int, type(None))):
                cell.execution_count = None
            cell.outputs = [sanitize_output(output, getattr(self, "budget", None)) for output in cell.get("outputs", [])
                            if isinstance(output, dict)]
        return cell, resources

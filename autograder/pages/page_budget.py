"""What showing a student's cells may cost one page: feedback pages and the formgrader.

A notebook may hold 50 MB (the gate's limit), most of it in the cells' sources, which no output
limit bounds. Made into a page, each megabyte of code took Pygments 2 to 4 s here and became 4 to
7 MB of coloured HTML, and each megabyte of markdown took 2 s: a notebook with a code cell of
3 MB and a markdown cell of 3 MB made a feedback page of 12 MB (the whole grading took 9.5 s,
against 3.7 s now). A notebook at the gate's limit would take minutes and make a page of hundreds
of megabytes, in the worker's ``generate_feedback``, again in the grading process when that
failed, and in the instructor's Jupyter server each time the formgrader showed the submission,
which would then send it all to the browser.

:func:`bound_sources` (run by :class:`~autograder.pages.html_safety.SanitizeNotebook`, which both
kinds of page run first) goes through the cells in order and lets each page show, at most:

- :data:`HIGHLIGHTED` characters of code in colour, the rest without (:func:`highlight_code`,
  the template's filter of that name, told by the cell's metadata), and only cells that
  :func:`colours` allows (Python, not too long; markdown's code blocks are never coloured);
- :data:`RENDERED_MARKDOWN` characters of markdown rendered, cells first, then outputs'
  ``text/markdown`` and ``text/latex`` (:class:`PageBudget`), the rest as text;
- :data:`SHOWN` characters of sources in all; of a cell past a budget, its first
  :data:`SHOWN_AS_TEXT` characters; of the cells past this one, a note with their size;
- :data:`ANSI_CODES` colour codes in one output, of :data:`ANSI_NUMBERS` numbers each
  (:func:`bounded_ansi`, which ``SanitizeNotebook`` applies to every output).

The course's own notebooks are far inside these (a04, the longest, holds 23,419 characters of
code and 24,855 of markdown, solutions included). Nothing here changes a grade: the graded
notebook keeps every cell as it was handed in.
"""
import contextlib
import contextvars
import functools
import html
import re

from jinja2 import pass_context
from nbconvert.filters.highlight import Highlight2HTML

from . import text_blocks


SHOWN_AS_TEXT = 100_000  # characters of a cell or fragment past a budget that a page shows, as text
HIGHLIGHTED = 100_000
RENDERED_MARKDOWN = 500_000  # markdown: up to about 7 s a megabyte of its slowest forms here
SHOWN = 2_000_000
ANSI_CODES = 2_000  # colour codes kept in one output (the rest are removed, their text kept)
ANSI_NUMBERS = 16   # numbers kept of one code (its last)
# Set by bound_sources on code cells to show without colour (any value a student gave it is
# replaced): the template hands the cell's metadata to highlight_code.
PLAIN = "course_plain_source"


PAGE_SVG_ELEMENTS = 300_000  # elements of SVG images drawn on one page (image_budget): about 4 s
PAGE_PIXELS = 250_000_000  # pixels of raster images on one page: ten of the largest one may have
# Characters of images embedded in one page (their data: URLs), each time one is shown: an image
# is written into the page whole wherever it appears, so one pasted image of 97 kB referenced
# 2,000 times by ``![](attachment:a.png)`` (20 characters each) made a feedback page of 261 MB
# (290 s of grading, against 3.6 s) and the formgrader's page as much. A graded notebook keeps
# at most 4,000,000 characters of output (execute.max_notebook_output), a04's page holds about a
# dozen figures (about 2 MB): this leaves room for both and some pasted images, and keeps a page
# of images under a few megabytes whatever it repeats. An attachment shown already on the page
# is not embedded again (image_budget, html_safety).
PAGE_IMAGE_BYTES = 5_000_000


class PageBudget:
    """What one page may still spend on markdown (cells, then outputs), and on images
    (``autograder.pages.image_budget``)."""

    def __init__(self):
        self.markdown = RENDERED_MARKDOWN
        self.svg_elements = PAGE_SVG_ELEMENTS
        self.pixels = PAGE_PIXELS
        self.image_bytes = PAGE_IMAGE_BYTES  # spent each time an image is embedded, unlike the two above
        self.images = set()  # the images counted already (a page may sanitise an image twice, show it twice)
        self.attachments = set()  # the attachments shown already (a repeat shows a note instead)
        self.paid = {}  # images whose bytes are spent already, for the sanitiser that checks them next

    def renders(self, text):
        """Whether markdown ``text`` is rendered, within the budget (which it then spends)."""
        if len(text) > self.markdown:
            return False
        self.markdown -= len(text)
        return True


# The budget of the page whose HTML the sanitiser is cleaning, for its callbacks (images in
# attributes), set only while it runs (:func:`spending`). None: only each image's own limits apply.
_PAGE = contextvars.ContextVar("course_page_budget", default=None)


@contextlib.contextmanager
def spending(budget):
    """Within the block, :func:`current_page` is ``budget`` (a :class:`PageBudget` or None)."""
    token = _PAGE.set(budget)
    try:
        yield budget
    finally:
        _PAGE.reset(token)


def current_page():
    """The :class:`PageBudget` set by :func:`spending`, or None."""
    return _PAGE.get()


MARKDOWN_PAST = f"markdown past the {RENDERED_MARKDOWN:,} characters a page renders"


def bound_sources(nb):
    """The cells of ``nb``, in order, within the page's budgets (see the module's doc), in place;
    returns the :class:`PageBudget` left for the outputs."""
    budget, highlighted, shown = PageBudget(), 0, 0
    for cell in nb.cells:
        source, metadata = cell.get("source"), cell.get("metadata")
        if not isinstance(source, str) or not isinstance(metadata, dict):
            continue
        metadata.pop(PLAIN, None)
        code, markdown = cell.get("cell_type") == "code", cell.get("cell_type") == "markdown"
        if shown >= SHOWN:
            note = (f"({len(source):,} characters of this cell are not shown: a page shows at most {SHOWN:,} "
                    "characters of a notebook's cells)")
            cell.source = f"<p><em>{html.escape(note)}</em></p>" if markdown else note
            if code:
                metadata[PLAIN] = True
            continue
        if code and highlighted + len(source) <= HIGHLIGHTED:
            highlighted += len(source)
        elif markdown and budget.renders(source):
            pass
        elif markdown:
            cell.source = as_text(source, MARKDOWN_PAST)
        else:  # code past the colour budget, a raw cell
            if code:
                metadata[PLAIN] = True
            if len(source) > SHOWN_AS_TEXT:
                cell.source = (source[:SHOWN_AS_TEXT]
                               + f"\n... ({len(source) - SHOWN_AS_TEXT:,} more characters not shown)")
        shown += len(source) if cell.source is source else SHOWN_AS_TEXT
    return budget


def as_text(text, why):
    """``text`` (HTML, markdown) shown as text, cut at :data:`SHOWN_AS_TEXT` characters, after a
    note saying ``why``."""
    more = f" ({len(text) - SHOWN_AS_TEXT:,} more characters not shown)" if len(text) > SHOWN_AS_TEXT else ""
    # One <pre> element: markdown passes it on whole (an HTML block that starts with <pre> ends only
    # at </pre>, which the escaped text cannot hold).
    inside = f"<em>{html.escape(why)}: shown as text{more}.</em>\n{html.escape(text[:SHOWN_AS_TEXT])}"
    return f'<pre class="course-shown-as-text">{text_blocks.in_blocks(inside)}</pre>'


# nbconvert's ansi2html (the templates' filter for streams, tracebacks and plain text) copies the
# rest of the text at each colour code, and takes each code's numbers off the front of a list:
# time in the square of the codes, and of a code's numbers. One code of 25,000, 50,000 and
# 100,000 numbers took it 0.05, 0.18 and 0.71 s here; two outputs within the cell's limit on
# output, one code of 400,000 numbers and 80,000 codes, 18 s of a page (the boundary case
# colour_codes graded in 20.4 s, 2.1 s now).
_ANSI = re.compile(r"\x1b\[(.*?)([@-~])")  # nbconvert's own pattern of a code


def bounded_ansi(text, left):
    """``text`` with at most ``left[0]`` colour codes (``left`` is spent: one list for all the
    lines of one output), each of at most :data:`ANSI_NUMBERS` numbers."""
    if "\x1b" not in text:
        return text

    def one(code):
        left[0] -= 1
        if left[0] < 0:
            return ""
        numbers = code.group(1)
        if numbers.count(";") >= ANSI_NUMBERS:
            numbers = ";".join(numbers.split(";")[-ANSI_NUMBERS:])
        return f"\x1b[{numbers}{code.group(2)}"
    return _ANSI.sub(one, text)


# Pygments' lexers are regular expressions, some of them slow on text written for them, and a
# student names the lexer of a code cell (its metadata's "magics_language") and of a markdown
# code block (```name; shown as text, html_safety._SafeRenderer.block_code). Timed on 2,000 and
# 8,000 characters of 31 units repeated, 215 of 603 lexers took more than 8 times as long (over
# 0.2 s) for four times the text, on 544 units in all, and three of them more than 5 s (fan,
# autoit, mcschema). The notebooks' own, IPython's
# (which hands %%html, %%javascript, %%latex, %%perl, %%ruby and %%! cells to those lexers),
# is quadratic too: one line of "*" or "a." took it 0.74 s for 8,000 characters and 10.8 s for
# 32,000; 10,000 characters of lines holding one space, 11 s (its rules start with \s*, which
# runs on across lines). So a page colours a cell only in Python, of at most LONGEST_CELL
# characters, in lines of at most LONGEST_LINE, with no run of spaces and line breaks longer
# than LONGEST_SPACE (the course's cells: 3,096, 131 and a few dozen at most); the slowest such
# cell found then took 0.19 s. Anything else is shown without colour.
COLOURED_LANGUAGES = {"python", "python3", "py", "ipython", "ipython3", "pycon"}
LONGEST_CELL = 10_000
LONGEST_LINE = 500
LONGEST_SPACE = 100
_LONG_SPACE = re.compile(r"\s{%d}" % (LONGEST_SPACE + 1))


def colours(source, language):
    """Whether ``source`` in ``language`` (a lexer's name) is coloured on a page."""
    return (isinstance(language, str) and language.lower() in COLOURED_LANGUAGES
            and len(source) <= LONGEST_CELL
            and max(map(len, source.splitlines()), default=0) <= LONGEST_LINE
            and not _LONG_SPACE.search(source))


def plain_code(source):
    """A code cell's source in the markup Pygments gives it, without colour."""
    return f'<div class="highlight"><pre><span></span>{html.escape(source, quote=False)}</pre></div>'


class BoundedHighlight(Highlight2HTML):
    """nbconvert's ``highlight_code`` filter, which shows without Pygments a cell
    :func:`bound_sources` marked as plain, or one it would not colour (:func:`colours`).

    Code coloured beforehand with :meth:`remember` (the released notebooks' code cells, the
    same in every submission: ``worker/warm.py``) is taken as it was coloured then, when the
    text and the lexer are the same; nothing else is kept."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.known = {}  # (lexer's name, source) -> the source coloured

    def __call__(self, source, language=None, metadata=None):
        metadata = metadata if hasattr(metadata, "get") else None
        return text_blocks.pre_in_blocks(self._coloured_or_plain(source, language, metadata))

    def remember(self, source, language=None):
        """Colour ``source`` now, as a cell without metadata, and keep it."""
        language = self._lexer(language, None)
        if isinstance(source, str) and colours(source, language):
            self.known[language, source] = super().__call__(source, language)

    def _lexer(self, language, metadata):
        language = language or self.pygments_lexer  # as nbconvert chooses the lexer
        if language.startswith("ipython") and metadata is not None and "magics_language" in metadata:
            language = metadata["magics_language"]
        return language

    def _coloured_or_plain(self, source, language, metadata):
        if metadata is not None and metadata.get(PLAIN) is True:
            return plain_code(source)
        language = self._lexer(language, metadata)
        if not colours(source, language):
            return plain_code(source)
        known = self.known.get((language, source))
        # the same output as Pygments' now: nbconvert reads no more of the metadata than the lexer
        return known if known is not None else super().__call__(source, language, metadata)


@functools.lru_cache(maxsize=8)
def _highlighter(lexer):
    return BoundedHighlight(pygments_lexer=lexer)


@pass_context
def highlight_code(context, source, language=None, metadata=None):
    """The ``highlight_code`` Jinja filter for an exporter configured with import strings (the
    formgrader's): the notebook's own lexer, as nbconvert's ``HTMLExporter`` picks it."""
    nb = context.get("nb")
    info = nb.get("metadata", {}).get("language_info", {}) if isinstance(nb, dict) else {}
    lexer = info.get("pygments_lexer", info.get("name")) if isinstance(info, dict) else None
    return _highlighter(lexer if isinstance(lexer, str) else None)(source, language, metadata)

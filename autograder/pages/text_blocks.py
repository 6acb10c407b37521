"""Text a page shows in blocks that the browser lays out in time that grows with their size.

Chromium lays out one block of text (an inline formatting context) in time that grows with the
square of the changes of direction in it, and of the combining marks on one letter; line breaks
do not divide a block. Timed here, a ``<pre>`` of letters alternating Latin and Hebrew, 40,000
and 160,000 characters: 0.70 and 8.5 s, in one line or in lines of 100 alike. An output may hold
1,000,000 characters and a page shows 2,000,000 of a notebook's sources (``page_budget``):
minutes to tens of minutes of the instructor's tab for one student's page. The same 160,000
characters with each line a block of its own took 0.68 s, and one line cut into inline blocks
of 2,000 characters 0.61 s.

:func:`in_blocks` does so with the inside of a ``<pre>`` of more than :data:`LARGE` characters,
as the pages write it (escaped text and the ``<span>`` tags of Pygments and of ``ansi2html``,
which may cross lines): each line a block (``course-line``), which looks as the line did, and a
line of more than :data:`PIECE` characters cut into inline blocks of at most that
(``course-piece``; marks in a row too), which look the same where the text does not wrap. A
tag open across a cut is closed before it and opened again after it. :data:`STYLE` is the CSS
both pages carry for it. A smaller ``<pre>`` (0.2 s at most so), and markup of any other form,
are left as they are: text copied from the blocks has its empty lines twice.

Student HTML (outputs, raw cells, markdown), once sanitised, is laid out as it was written, so it
is cut only where its text changes direction more than :data:`TURNS` times in one block, or
holds more than :data:`MARKS` combining marks in a row (:func:`html_in_blocks`): an empty block
there (``course-cut``) ends the text's block and starts another, a line break on the page.
Chromium divides a block so only where no inline element is open (a cut inside ``<b>`` left the
time as it was): the inline elements open there are closed before the cut and opened again
after it. A paragraph of 160,000 letters of Latin and Hebrew in turn took 8.3 s, in spans of a
letter each 9.3 s; cut every 2,000 letters, 0.7 and 1.6 s. One letter with 20,000 and 80,000
acute accents took 0.7 and 9.4 s; cut every 1,000, 0.04 and 0.13 s. Text in one direction, and
text that mixes other scripts (Latin and Chinese or Cyrillic letters in turn, emoji: 0.3 to
1.6 s for 160,000), is not cut.
"""
import functools
import re
import unicodedata

from nbconvert.filters.ansi import ansi2html as _ansi2html

from .markup import TAG, VOID_ELEMENTS, depth_change

LARGE = 20_000  # characters of markup in a <pre> or of student HTML left as they are, at most
PIECE = 2_000  # characters of a line in one inline block, at most
TURNS = 1_000  # runs of right-to-left letters in one block of student HTML, at most
MARKS = 1_000  # combining marks in a row in student HTML, at most
LINE, PIECE_CLASS, CUT_CLASS = "course-line", "course-piece", "course-cut"
STYLE = f"<style>.{LINE},.{CUT_CLASS}{{display:block}}.{PIECE_CLASS}{{display:inline-block}}</style>"

# A tag, a line break (the HTML parser reads a carriage return, with a line feed after it or
# alone, as a line feed), or up to PIECE characters of text (an entity is one).
_PART = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*>|(\r\n?|\n)|((?:&#?\w+;|[^<\r\n&]|&){1,%d})" % PIECE)
_ENTITY = re.compile(r"&#?\w+;")
_PRE = re.compile(r"(<pre\b[^<>]*>)(.*)(</pre>)", re.DOTALL)


def in_blocks(markup):
    """``markup`` (the inside of a ``<pre>``) with each line a block, long lines cut (see above);
    ``markup`` itself where it is small or holds anything but text and balanced tags."""
    if len(markup) <= LARGE:
        return markup
    # The parser drops a line break that starts a <pre>: it starts no line.
    position = 2 if markup.startswith("\r\n") else 1 if markup.startswith(("\n", "\r")) else 0
    blocks = []
    opened = []  # the open tags: (name, tag as written)
    pieces, piece, length, line_length = [], [], 0, 0

    def end_piece():
        nonlocal piece, length
        closes = "".join(f"</{name}>" for name, _ in reversed(opened))
        pieces.append("".join(piece) + closes)
        piece, length = [tag for _, tag in opened], 0

    def end_line():
        nonlocal pieces, line_length
        end_piece()
        if not line_length:  # an empty line holds its line break: an empty block has no height
            blocks.append(f'<span class="{LINE}">\n</span>')
        elif len(pieces) == 1:
            blocks.append(f'<span class="{LINE}">{pieces[0]}</span>')
        else:
            inner = "".join(f'<span class="{PIECE_CLASS}">{one}</span>' for one in pieces)
            blocks.append(f'<span class="{LINE}">{inner}</span>')
        pieces, line_length = [], 0

    for part in _PART.finditer(markup, position):
        if part.start() != position:
            return markup  # a "<" that starts no tag: not the markup this is for
        position = part.end()
        closing, name, newline, text = part.groups()
        if text is not None:
            size = len(text) - sum(len(entity) - 1 for entity in _ENTITY.findall(text))
            if length and length + size > PIECE:
                end_piece()
            piece.append(text)
            length += size
            line_length += size
        elif newline is not None:
            end_line()
        else:
            name = name.lower()
            if closing:
                if not opened or opened[-1][0] != name:
                    return markup
                opened.pop()
            elif name not in VOID_ELEMENTS and not part.group(0).endswith("/>"):
                opened.append((name, part.group(0)))
            piece.append(part.group(0))
    if position != len(markup) or opened:
        return markup
    if line_length:  # a last line without its line break
        end_line()
    return "".join(blocks)


def pre_in_blocks(markup):
    """``markup`` holding one ``<pre>`` (as Pygments writes a cell) with its inside :func:`in_blocks`."""
    found = _PRE.search(markup)
    if found is None:
        return markup
    return markup[:found.start(2)] + in_blocks(found.group(2)) + markup[found.end(2):]


def ansi2html(text):
    """nbconvert's ``ansi2html`` filter (the templates' for streams, plain text and tracebacks,
    each inside a ``<pre>``), its result :func:`in_blocks`."""
    return in_blocks(_ansi2html(text))


# Letters written right to left: Hebrew, Arabic, Syriac, Thaana, N'Ko, Samaritan, Mandaic and
# their presentation forms, and the right-to-left scripts past the first plane.
_RIGHT_TO_LEFT = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefe\U00010800-\U00010fff\U0001e800-\U0001efff]+")


@functools.cache
def _mark_runs():
    """A pattern of more than MARKS combining marks in a row (Unicode's categories Mn, Mc, Me)."""
    marks = [chr(code) for plane in (range(0x20000), range(0xE0000, 0xE1000)) for code in plane
             if unicodedata.category(chr(code)).startswith("M")]  # no mark lies elsewhere
    return re.compile("[%s]{%d,}" % (re.escape("".join(marks)), MARKS + 1))


# Elements laid out inline within a block's text: the cut closes them and opens them again.
INLINE = {"a", "abbr", "acronym", "b", "big", "cite", "code", "data", "del", "dfn", "em", "font", "i", "ins",
          "kbd", "mark", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var"}
# This module's own blocks, which a sanitised page's HTML may hold already (sanitised twice).
_OWN_BLOCK = re.compile(f'<span class="({LINE}|{PIECE_CLASS}|{CUT_CLASS})">')


def _inline(name, tag):
    return name in INLINE and not _OWN_BLOCK.fullmatch(tag)


def html_in_blocks(markup):
    """Sanitised HTML ``markup`` with an empty block (``course-cut``) wherever its text has
    changed direction :data:`TURNS` times since the last block began (see above), never inside
    MathML; ``markup`` itself where it is small, holds no right-to-left letter, or is not as the
    sanitiser writes it."""
    if len(markup) <= LARGE or not (_RIGHT_TO_LEFT.search(markup) or _mark_runs().search(markup)):
        return markup
    parts, opened, runs, position = [], [], 0, 0  # opened: the open elements, (name, tag as written)

    def cut_text(text):
        nonlocal runs
        points = []  # where the text is cut
        for turn in _RIGHT_TO_LEFT.finditer(text):
            runs += 1
            if runs > TURNS:
                points.append(turn.start())
                runs = 1
        for run in _mark_runs().finditer(text):
            points.extend(range(run.start() + MARKS, run.end(), MARKS))
        if not points or any(name == "math" for name, _ in opened):
            parts.append(text)
            return
        inline = []  # the inline elements open within the innermost block, innermost first
        for name, tag in reversed(opened):
            if not _inline(name, tag):
                break
            inline.append((name, tag))
        cut = ("".join(f"</{name}>" for name, _ in inline) + f'<span class="{CUT_CLASS}"></span>'
               + "".join(tag for _, tag in reversed(inline)))
        start = 0
        for point in sorted(set(points)):
            parts.append(text[start:point] + cut)
            start = point
        parts.append(text[start:])

    for tag in TAG.finditer(markup):
        text = markup[position:tag.start()]
        if "<" in text:
            return markup
        cut_text(text)
        name, written, change = tag.group(2).lower(), tag.group(0), depth_change(tag)
        if change < 0:
            if not opened or opened[-1][0] != name:
                return markup
            _, written = opened.pop()  # the element's start tag says whether it is inline
        elif change > 0:
            opened.append((name, written))
        if not (_inline(name, written) or name in ("br", "wbr", "img")):
            runs = 0  # a block begins or ends
        parts.append(tag.group(0))
        position = tag.end()
    rest = markup[position:]
    if "<" in rest or opened:
        return markup
    cut_text(rest)
    return "".join(parts)

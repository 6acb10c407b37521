"""Preformatted text a page shows in blocks the browser lays out in time that grows with their size.

Chromium lays out one block of text (an inline formatting context) in time that grows with the
square of the changes of direction or script in it; its line breaks do not divide it. Timed here,
a ``<pre>`` of letters alternating Latin and Hebrew, 40,000 and 160,000 characters: 0.70 and
8.5 s, in one line or in lines of 100 alike. An output may hold 1,000,000 characters and a page
shows 2,000,000 of a notebook's sources (``page_budget``): minutes to tens of minutes of the
instructor's tab for one student's page. The same 160,000 characters with each line a block of
its own took 0.68 s, and one line cut into inline blocks of 2,000 characters 0.61 s.

:func:`in_blocks` does so with the inside of a ``<pre>`` of more than :data:`LARGE` characters,
as the pages write it (escaped text and the ``<span>`` tags of Pygments and of ``ansi2html``,
which may cross lines): each line a block (``course-line``), which looks as the line did, and a
line of more than :data:`PIECE` characters cut into inline blocks of at most that
(``course-piece``), which look the same where the text does not wrap. A tag open across a cut is
closed before it and opened again after it. :data:`STYLE` is the CSS both pages carry for it.
A smaller ``<pre>`` (0.2 s at most so), and markup of any other form, are left as they are: text
copied from the blocks has its empty lines twice.
"""
import re

from nbconvert.filters.ansi import ansi2html as _ansi2html

LARGE = 20_000  # characters of markup in a <pre> left as it is, at most
PIECE = 2_000  # characters of a line in one inline block, at most
LINE, PIECE_CLASS = "course-line", "course-piece"
STYLE = f"<style>.{LINE}{{display:block}}.{PIECE_CLASS}{{display:inline-block}}</style>"

# A tag, a line break, or up to PIECE characters of text (an entity is one).
_PART = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)\b[^<>]*>|(\n)|((?:&#?\w+;|[^<\n&]|&){1,%d})" % PIECE)
_ENTITY = re.compile(r"&#?\w+;")
_PRE = re.compile(r"(<pre\b[^<>]*>)(.*)(</pre>)", re.DOTALL)
_VOID = {"br", "wbr", "img", "hr"}


def in_blocks(markup):
    """``markup`` (the inside of a ``<pre>``) with each line a block, long lines cut (see above);
    ``markup`` itself where it is small or holds anything but text and balanced tags."""
    if len(markup) <= LARGE:
        return markup
    # The parser drops a line break that starts a <pre>: it starts no line.
    position = 1 if markup.startswith("\n") else 0
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
            elif name not in _VOID and not part.group(0).endswith("/>"):
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

"""TeX maths as MathML, made when a page is made, so that maths shows with no script and no network.

Chromium, Firefox and Safari draw MathML themselves (MathML Core), so a feedback page opened from
disk, offline, shows its formulas without MathJax. ``latex2mathml`` converts the TeX of
``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` and ``\\begin{...}...\\end{...}``; what it
cannot convert stays as its TeX source, shown as text (the formgrader's MathJax still typesets it,
within the bounds its page sets: ``templates/formgrade/formgrade_macros.html.j2``).

Its output is **not** trusted HTML: ``\\text{...}`` passes its text through unescaped, ``\\href``
and ``\\style`` make attributes. Callers sanitise it with the rest of the page (``html_safety``).

Chromium lays out MathML nested deep in time that grows much faster than its size: 100 formulas
of ``<mrow>`` nested 32, 64, 128 and 250 deep took 0.2, 0.65, 3.9 and 27 s (4, 7.5, 23 and 83 s a
megabyte; ``<mpadded>`` 250 deep, 1 s a formula), where HTML as deep (``<div>``, ``<span>``)
took 0.16 s for 40 of 250. So a formula is drawn as MathML only at most :data:`MAX_DEPTH`
elements deep: TeX that converts deeper stays TeX (:func:`tex_to_mathml`), and MathML a student
wrote deeper is shown as its text (:func:`bounded`, which the sanitiser applies to all student
HTML). The course's notebooks' maths nests at most 11 deep, its markdown cells included.
"""
import functools
import html
import re

from latex2mathml.converter import convert

from . import markup

# The MathML Core elements (and the attributes of each) that latex2mathml writes and browsers draw.
# Not here on purpose: annotation-xml (it can hold HTML), maction, mglyph, malignmark.
TAGS = {"math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
        "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
        "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror",
        "mmultiscripts", "mprescripts", "none"}
ATTRIBUTES = {"display", "displaystyle", "scriptlevel", "mathvariant", "mathsize", "mathcolor",
              "mathbackground", "stretchy", "fence", "separator", "form", "accent", "accentunder",
              "largeop", "movablelimits", "symmetric", "lspace", "rspace", "minsize", "maxsize",
              "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines", "rowlines",
              "frame", "columnspan", "rowspan", "linethickness", "width", "height", "depth",
              "voffset", "notation", "encoding"}


MAX_DEPTH = 32  # elements within a <math>, at most


@functools.lru_cache(maxsize=4096)  # the same notebook text comes back for every student
def tex_to_mathml(tex, display=False):
    """MathML for ``tex`` (no delimiters), or the TeX itself, escaped, between its delimiters when
    latex2mathml cannot convert it or the MathML would nest deeper than :data:`MAX_DEPTH`."""
    try:
        made = convert(tex, display="block" if display else "inline")
        if _deepest(made) <= MAX_DEPTH + 1:  # the <math> element itself, and what it holds
            return made
    except Exception:  # noqa: BLE001 - any TeX it cannot parse is shown as its source
        pass
    opening, closing = ("$$", "$$") if display else ("$", "$")
    return f'<span class="tex-source">{html.escape(opening + tex + closing, quote=False)}</span>'


def _deepest(made):
    """How deep the elements of ``made`` (well-formed, as latex2mathml writes it) nest."""
    depth = deepest = 0
    for tag in markup.TAG.finditer(made):
        depth += markup.depth_change(tag)
        deepest = max(deepest, depth)
    return deepest


def bounded(html_text):
    """Sanitised HTML ``html_text`` with each ``<math>`` element that nests more than
    :data:`MAX_DEPTH` elements deep within it replaced by its text."""
    if "<math" not in html_text:
        return html_text
    parts, position, start, depth, deepest = [], 0, None, 0, 0
    for tag in markup.TAG.finditer(html_text):
        if start is None:
            if tag.group(2).lower() == "math" and markup.depth_change(tag) == 1:
                start, depth, deepest = tag.start(), 1, 1
            continue
        depth += markup.depth_change(tag)
        deepest = max(deepest, depth)
        if depth == 0:  # the end of this <math>
            if deepest > MAX_DEPTH + 1:
                text = re.sub(r"<[^<>]*>", " ", html_text[start:tag.end()]).split()
                parts.append(html_text[position:start] + '<span class="course-maths-as-text" title="MathML nested '
                             f'more than {MAX_DEPTH} deep: shown as its text">{" ".join(text)}</span>')
                position = tag.end()
            start = None
    parts.append(html_text[position:])
    return "".join(parts)

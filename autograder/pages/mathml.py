"""TeX maths as MathML, made when a page is made, so that maths shows with no script and no network.

Chromium, Firefox and Safari draw MathML themselves (MathML Core), so a feedback page opened from
disk, offline, shows its formulas without MathJax. ``latex2mathml`` converts the TeX of
``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` and ``\\begin{...}...\\end{...}``; what it
cannot convert stays as its TeX source, shown as text (the formgrader's MathJax still typesets it,
within the bounds its page sets: ``templates/formgrade/formgrade_macros.html.j2``).

Its output is **not** trusted HTML: ``\\text{...}`` passes its text through unescaped, ``\\href``
and ``\\style`` make attributes. Callers sanitise it with the rest of the page (``html_safety``).
"""
import functools
import html

from latex2mathml.converter import convert

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


@functools.lru_cache(maxsize=4096)  # the same notebook text comes back for every student
def tex_to_mathml(tex, display=False):
    """MathML for ``tex`` (no delimiters), or the TeX itself, escaped, between its delimiters when
    latex2mathml cannot convert it."""
    try:
        return convert(tex, display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - any TeX it cannot parse is shown as its source
        opening, closing = ("$$", "$$") if display else ("$", "$")
        return f'<span class="tex-source">{html.escape(opening + tex + closing, quote=False)}</span>'

"""Does student HTML stay inert in feedback pages, and does maths render there with no network?

The hostile catalogue (tests/hostile_html.py) puts each form in a notebook of its own cells:
script tags, event handlers, javascript: links, SVG with scripts, application/javascript and
widget outputs, iframes, forms, meta refresh, styles with url()/expression(), maths and
attachments that smuggle HTML. Each is checked twice: in the parsed page, and in a real Chromium
(one per module) with the network cut off, where any of them that ran would record itself in
``window.__pwned``, retitle the page, open a dialog or navigate away.
"""
import re
import tempfile
import time

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

import browser
import hostile_html
from autograder.pages import html_safety, markup, page_budget, text_blocks
from autograder.pages.exporter import CONTENT_SECURITY_POLICY, FeedbackHTMLExporter, with_content_security_policy
from autograder.pages.formgrader import TEMPLATE_BASEDIRS, PagePolicy

SCORES = {"nbgrader": {"notebook": "hostile", "score": 0, "max_score": 1, "late_penalty": 0}}


def course_feedback_config(course_root):
    """The configuration ``nbgrader generate_feedback`` gives its exporter in this course."""
    config = GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir())).config
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config())
    return config


def feedback_page(course_root, nb):
    exporter = FeedbackHTMLExporter(config=course_feedback_config(course_root))
    page, _ = exporter.from_notebook_node(nb, resources={k: dict(v) for k, v in SCORES.items()})
    return page


@pytest.fixture(scope="module")
def hostile_page(course_root):
    return feedback_page(course_root, hostile_html.hostile_notebook())


@pytest.fixture(scope="module")
def hostile_page_file(hostile_page, tmp_path_factory):
    path = tmp_path_factory.mktemp("feedback") / "hostile.html"
    path.write_text(hostile_page, encoding="utf-8")
    return path


def test_does_the_course_configure_both_feedback_and_the_formgrader_to_sanitise(course_root):
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    assert config.GenerateFeedback.exporter_class is FeedbackHTMLExporter
    assert config.HTMLExporter.filters == html_safety.FILTERS
    assert config.HTMLExporter.preprocessors == [html_safety.SanitizeNotebook, PagePolicy]
    assert config.HTMLExporter.extra_template_basedirs == TEMPLATE_BASEDIRS


@pytest.mark.parametrize("form", sorted(hostile_html.MARKDOWN))
def test_is_each_hostile_markdown_form_sanitised_away(form):
    cell = {"attachments": hostile_html.ATTACHMENTS.get(form, {})}
    html = html_safety.markdown2html({"cell": cell}, hostile_html.MARKDOWN[form])
    assert hostile_html.active_content(html) == []
    again = html_safety.strip_files_prefix(html)  # the templates apply it after markdown2html
    assert hostile_html.active_content(again) == []


@pytest.mark.parametrize("form", sorted(hostile_html.OUTPUTS))
def test_is_each_hostile_output_sanitised_away(form):
    data, metadata = hostile_html.OUTPUTS[form]
    output = html_safety.sanitize_output(nbformat.v4.new_output("display_data", data=data, metadata=metadata))
    assert set(output.data) <= {"text/plain", "text/html", "text/latex", "image/png", "image/jpeg", "image/svg+xml"}
    assert hostile_html.active_content(output.data.get("text/html", "")) == []
    assert "isolated" not in str(output.metadata) and "__pwned" not in str(output.metadata)


def test_does_a_markdown_attachment_that_is_missing_not_stop_the_page():
    html = html_safety.markdown2html({"cell": {}}, "![gone](attachment:gone.png) text")
    assert "text" in html and hostile_html.active_content(html) == []


def test_does_tex_that_cannot_be_converted_stay_as_text():
    html = html_safety.markdown_to_html("Broken $\\frac{1}{$ and fine $x_1$")
    assert "$\\frac{1}{$" in html and html.count("<math") == 1


def test_does_the_exporter_sanitise_even_without_the_course_configuration():
    config = GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir())).config
    page, _ = FeedbackHTMLExporter(config=config).from_notebook_node(
        hostile_html.hostile_notebook(), resources={k: dict(v) for k, v in SCORES.items()})
    assert hostile_html.active_content(page) == [] and "<script" not in page


def test_has_the_feedback_page_no_script_and_its_policy_first(hostile_page):
    soup = BeautifulSoup(hostile_page, "html.parser")
    assert soup.find_all("script") == []  # not even MathJax: maths is MathML
    first = soup.head.find(True)
    assert first.name == "meta" and first["http-equiv"] == "Content-Security-Policy"
    assert first["content"] == CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY and "script-src" not in CONTENT_SECURITY_POLICY
    assert hostile_html.active_content(hostile_page) == []


def test_does_legitimate_content_still_show_in_the_parsed_page(hostile_page):
    soup = BeautifulSoup(hostile_page, "html.parser")
    assert any("accuracy" in th.get_text() for th in soup.find_all("th"))
    maths = soup.find(string=re.compile("Inline maths")).find_parent("div")
    assert maths.find("math", attrs={"display": "inline"}).find("msup") is not None
    assert maths.find("math", attrs={"display": "block"}).find("mfrac") is not None
    assert "$" not in maths.get_text()
    images = [img for img in soup.find_all("img") if img.get("src", "").startswith("data:image/png;base64,")]
    assert any(img.get("width") == "32" for img in images)


def test_does_a_page_from_the_stock_exporter_show_what_is_at_stake(course_root):
    """The same notebook through nbgrader's stock exporter: scripts, handlers, CDN MathJax."""
    config = GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir())).config
    stock, _ = HTMLExporter(config=config).from_notebook_node(hostile_html.hostile_notebook(),
                                                              resources={k: dict(v) for k, v in SCORES.items()})
    found = " ".join(hostile_html.active_content(stock))
    for marker in ("script:", "onerror=", "iframe:", "meta:", "form:", "svg:", "cdnjs"):
        assert marker in found or marker in stock


def test_does_no_hostile_form_run_in_chromium(chromium, hostile_page_file):
    seen, _ = browser.visit(chromium, hostile_page_file.as_uri())
    assert seen.pwned is None
    assert seen.dialogs == []
    assert seen.title == "hostile"
    assert seen.final_url == hostile_page_file.as_uri()
    assert seen.console_errors == [] and seen.page_errors == []
    assert seen.blocked_requests == [] and seen.failed_requests == []  # it asks no server for anything


def test_do_the_image_the_table_and_the_maths_render_offline_in_chromium(chromium, hostile_page_file):
    def shown(page):
        return page.evaluate("""() => {
            const cell = [...document.querySelectorAll('div.text_cell')]
                .find(c => c.textContent.includes('Inline maths'));
            const maths = [...cell.querySelectorAll('math')];
            const table = [...document.querySelectorAll('table')].find(t => t.textContent.includes('accuracy'));
            const image = [...document.querySelectorAll('img')].find(i => i.getAttribute('width') === '32');
            return {maths: maths.map(m => [m.getAttribute('display'), m.getBoundingClientRect().width > 5,
                                           m.getBoundingClientRect().height > 5, m.textContent]),
                    text: cell.innerText, rows: table ? table.rows.length : 0,
                    image: image ? [image.complete, image.naturalWidth] : null};
        }""")
    seen, shown = browser.visit(chromium, hostile_page_file.as_uri(), settle_ms=200, check=shown)
    assert [m[:3] for m in shown["maths"]] == [["inline", True, True], ["block", True, True]]
    assert shown["maths"][0][3].startswith("y") and "σ" in shown["maths"][0][3]
    assert "$" not in shown["text"]
    assert shown["rows"] == 3 and shown["image"] == [True, 8]
    assert seen.console_errors == [] and seen.blocked_requests == []


def test_does_student_markup_keep_only_classes_that_colour_text():
    """Bootstrap's .modal or .navbar-fixed-top made a student's element a sheet or a bar fixed
    over the page, above the score (hostile_html.OVERLAYS)."""
    kept = html_safety.sanitize('<div class="modal fade in k nb dataframe language-python ansi-red-fg anchor-link '
                                'navbar-fixed-top btn sr-only dropdown-menu nbgrader_cell score">x</div>')
    assert kept == '<div class="k nb dataframe language-python ansi-red-fg anchor-link">x</div>'
    assert 'class="' not in html_safety.sanitize('<span class="modal navbar-fixed-top">x</span>')
    for form, source in hostile_html.OVERLAYS.items():
        html = html_safety.markdown2html({"cell": {}}, source)
        assert hostile_html.COVER in html and not re.search(r'class="[^"]*(modal|navbar|btn)', html), form
    highlighted = html_safety.markdown_to_html("# A heading\n\n```python\nx = 1\n```")
    assert 'class="anchor-link"' in highlighted and 'class="language-python"' in highlighted


def test_does_student_markup_draw_only_within_its_cell_in_chromium(chromium, hostile_page, hostile_page_file):
    """A negative margin or a line of no height drew a student's white box over the page's score,
    and a fixed element covered the window: each is cut at the edge of its own cell
    (html_safety.CONTAINED_STYLE; the raw cell wrapped so)."""
    assert html_safety.CONTAINED_STYLE in hostile_page and f'<div class="{html_safety.RAW_CLASS}">' in hostile_page
    seen, drawn = browser.visit(chromium, hostile_page_file.as_uri(), settle_ms=200,
                                check=lambda page: browser.drawn_outside_cells(page, hostile_html.COVER))
    assert drawn["escapes"] == [], drawn
    assert drawn["marked"] == len(hostile_html.OVERLAYS) + 2  # the markdown forms, the raw cell, the output
    assert drawn["drawn_inside"] >= len(hostile_html.OVERLAYS)  # (each is there, and drawn)
    assert seen.console_errors == []


def test_does_the_policy_alone_stop_every_script_of_the_stock_page(chromium, course_root, tmp_path):
    """A sanitiser miss: the stock, unsanitised page with only the feedback policy added runs
    none of the student's scripts (meta refresh, which a policy cannot stop, is left out here)."""
    nb = hostile_html.hostile_notebook()
    nb.cells = [c for c in nb.cells if c.metadata.get("tags") != ["md-meta-refresh"]]
    config = GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir())).config
    stock, _ = HTMLExporter(config=config).from_notebook_node(nb, resources={k: dict(v) for k, v in SCORES.items()})
    unprotected, protected = tmp_path / "stock.html", tmp_path / "stock-with-policy.html"
    unprotected.write_text(stock, encoding="utf-8")
    protected.write_text(with_content_security_policy(stock), encoding="utf-8")
    seen, _ = browser.visit(chromium, unprotected.as_uri(), settle_ms=500)
    assert seen.pwned and "md-script" in seen.dialogs and seen.title == hostile_html.TITLE  # the checks see it
    seen, _ = browser.visit(chromium, protected.as_uri())
    assert seen.pwned is None and seen.dialogs == [] and seen.title == "hostile"
    assert seen.blocked_requests == []  # the CDN MathJax is refused by the policy, never requested


# -- HTML nested deeper than the sanitiser's parser can afford ----------------------------------------------------
# Each unit, repeated, nests HTML deeper at each repetition; html5ever (nh3's parser) does work in
# proportion to its depth for each tag: 20,000 repetitions took it 1 to 6 s before the guard,
# twice as many four times as long.
DEEP_FORMS = {"div": "<div>", "list in item": "<li><ul>", "definition list": "<dd><dl>", "link around block": "<a><div>",
              "form": "<form><div>", "span, stray end tag": "<span></div>", "div, stray end tag": "<div></span>",
              "svg cells": "<svg><td>", "scripts left open": "<script>", "styles left open": "<style>"}


@pytest.mark.parametrize("unit", DEEP_FORMS.values(), ids=DEEP_FORMS.keys())
def test_is_html_nested_too_deep_for_the_parser_shown_as_text_instead(unit, monkeypatch):
    parsed = []
    monkeypatch.setattr(html_safety, "_CLEANER", type("Spy", (), {"clean": lambda self, html: parsed.append(html)})())
    deep = unit * 30_000
    shown = html_safety.sanitize(deep)
    assert parsed == []  # never handed to the parser
    line = f'<span class="{text_blocks.LINE}">'  # the text is long: its lines are blocks
    assert shown.startswith(f'<pre class="course-shown-as-text">{line}<em>HTML nested more than 256 elements deep: '
                            f'shown as text ({len(deep) - page_budget.SHOWN_AS_TEXT:,} more characters not shown).</em>'
                            f'</span>{line}')
    ours = re.compile(f'<span class="({text_blocks.LINE}|{text_blocks.PIECE_CLASS})">|</span>')
    assert shown.endswith("</pre>") and ours.sub("", shown).count("<") == 4  # the note's tags, nothing of the student's


@pytest.mark.parametrize("html, kept", [
    ("<div>a</div><script>if (a<b) {}</script><STYLE>p {}</style >b", "<div>a</div>b"),
    ("<script><script></script>c</script>d", "c</script>d"),
    ("e<script>never closed<div>", "e<script>never closed<div>"),
    ("<script>" + "</script" * 1000, "<script>" + "</script" * 1000),
])
def test_are_scripts_and_styles_taken_out_start_tag_to_end_tag(html, kept):
    assert html_safety.without_scripts(html) == kept


def test_are_scripts_taken_out_in_one_pass_however_many_are_left_open():
    """A regular expression that looked for the end of each <script> read the rest of the text for
    every one left open: 8,000 took it 1.7 s, 500,000 would take hours. A hang check: one pass
    takes milliseconds."""
    started, html = time.monotonic(), "<script>" * 500_000
    assert html_safety.without_scripts(html) == html
    assert time.monotonic() - started < 30


def test_is_a_markdown_cell_nested_too_deep_shown_as_its_own_text():
    source = "**Answer**\n\n" + "<div>" * 1000
    shown = html_safety.markdown_to_html(source)
    assert "course-shown-as-text" in shown and "**Answer**\n\n&lt;div&gt;&lt;div&gt;" in shown


ORDINARY_HTML = {
    "a table of 20,000 rows": "<table><thead><tr><th>a</th><th>b</th></tr></thead><tbody>"
                              + "<tr><td>1</td><td>2</td></tr>" * 20_000 + "</tbody></table>",
    "rows and cells left open": "<table>" + "<tr><td>1<td>2" * 5_000 + "</table>",
    "paragraphs left open": "<p>one" * 5_000,
    "list items left open": "<ul>" + "<li>item<li><p>para" * 5_000 + "</ul>",
    "definitions left open": "<dl>" + "<dt>term<dd>meaning" * 5_000 + "</dl>",
    "a page nested 200 deep": "<div>" * 200 + "text" + "</div>" * 200,
    "a script full of comparisons": "<div>plot</div><script>" + "if (a<b && c<d) { e<f; }\n" * 5_000 + "</script>",
}


@pytest.mark.parametrize("html", ORDINARY_HTML.values(), ids=ORDINARY_HTML.keys())
def test_does_ordinary_html_still_reach_the_sanitiser(html):
    assert "course-shown-as-text" not in html_safety.sanitize(html)


LAYOUT_COSTLY = {  # in Chromium, on a page of its own
    "ruby annotations (200,000: 261 s)": ("<p><ruby>" + "a<rt>b</rt><rp>(</rp>" * 3 + "</ruby></p>", "<p>ab(ab(ab(</p>"),
    "direction set element by element (80,000 spans: 81 s)":
        ('<p dir="rtl"><bdo dir="rtl">a</bdo><bdi>b</bdi><span dir="ltr">c</span></p>', "<p>ab<span>c</span></p>"),
    "each element in a language of its own (80,000: 72 s)": ('<p lang="he"><span lang="ar-1">a</span></p>',
                                                              "<p><span>a</span></p>"),
    "an opacity (80,000: 30 s)": ('<span style="opacity: 0.5; color: red">a</span>', '<span style="color:red">a</span>'),
    "columns spanning 1,000 (80,000: the tab crashed)":
        ('<table><colgroup><col span="1000"><col span="2"><col span="x"></colgroup></table>',
         '<table><colgroup><col span="100"><col span="2"><col></colgroup></table>'),
    "cells spanning many (rowspan=65534 on 40,000 rows: 35 s; 0 spans to the end)":
        ('<table><tr><td rowspan="65534" colspan="1000">a</td><td rowspan="0" colspan="-3">b</td>'
         '<td rowspan="7" colspan="2">c</td></tr></table>',
         '<table><tbody><tr><td rowspan="100" colspan="100">a</td><td rowspan="1">b</td>'
         '<td rowspan="7" colspan="2">c</td></tr></tbody></table>'),
}


@pytest.mark.parametrize("html, kept", LAYOUT_COSTLY.values(), ids=LAYOUT_COSTLY.keys())
def test_is_markup_whose_layout_costs_far_more_than_its_size_taken_out(html, kept):
    """Tags go (their text stays), attributes too, spans are cut to 100."""
    assert html_safety.sanitize(html) == kept


def _tree_depth(html):
    """The depth of the tree that nh3's parser built, from its (well-formed) serialisation."""
    depth = deepest = 0
    for tag in re.finditer(r"<(/?)([A-Za-z][^\s/>]*)", html):
        if tag.group(1):
            depth -= 1
        elif tag.group(2).lower() not in markup.VOID_ELEMENTS:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


TAG_NAMES = ["div", "span", "p", "li", "ul", "ol", "td", "th", "tr", "table", "tbody", "caption", "b", "i", "a", "em",
             "dd", "dl", "dt", "pre", "blockquote", "h1", "h2", "section", "svg", "math", "mi", "option", "select",
             "form", "button", "br", "img", "hr", "code", "font", "nobr", "u", "template", "textarea", "title",
             "noscript", "xmp", "iframe", "plaintext", "foreignObject", "desc", "mtext", "annotation-xml", "html",
             "body", "head", "colgroup", "col", "thead", "object", "applet", "marquee", "ruby", "rt", "rp"]


def _random_fragment(rng, tokens):
    parts = []
    for _ in range(tokens):
        draw, name = rng.random(), rng.choice(TAG_NAMES)
        parts.append(f"<{name}>" if draw < 0.55 else f"</{name}>" if draw < 0.85 else
                     rng.choice(["<!--", "-->", "x", "<script>", "</script>", "<style>"]))
    return "".join(parts)


def test_does_the_nesting_bound_bound_the_parsers_depth():
    """On random fragments, and on random units repeated 150 times (where a wrong rule would
    compound), the tree nh3's parser builds with every tag allowed is never deeper than twice the
    bound, plus a few (a table's own tbody and tr): the parser's work grows no faster than the
    bound says."""
    import random

    import nh3
    rng = random.Random(20261205)
    allowed = set(TAG_NAMES)
    fragments = [_random_fragment(rng, rng.randint(1, 80)) for _ in range(1500)]
    fragments += [_random_fragment(rng, rng.randint(1, 8)) * 150 for _ in range(1500)]
    for fragment in fragments:
        depth = _tree_depth(nh3.clean(fragment, tags=allowed, clean_content_tags=set(), attributes={}))
        assert depth <= 2 * html_safety.nesting_bound(fragment, limit=10**9) + 6, fragment[:200]


# MathML nested deep: Chromium lays it out in time that grows much faster than its size (100
# formulas of <mrow> 250 deep: 27 s; 32 deep: 0.2 s). autograder/pages/mathml.py.
def deep_mathml(depth, tag="mrow"):
    return "<math>" + f"<{tag}>" * depth + "<mi>x</mi><mo>+</mo><mn>1</mn>" + f"</{tag}>" * depth + "</math>"


@pytest.mark.parametrize("tag", ["mrow", "mpadded", "mstyle"])
def test_is_mathml_a_student_nests_too_deep_shown_as_its_text(tag):
    shallow, deep = deep_mathml(31, tag), deep_mathml(32, tag)  # 32 and 33 elements within <math>
    assert html_safety.sanitize(f"<p>{shallow}</p>") == f"<p>{shallow}</p>"
    made = html_safety.sanitize(f"<p>before {deep} after <math><mi>y</mi></math></p>")
    assert made == ('<p>before <span class="course-maths-as-text" title="MathML nested more than 32 deep: shown as '
                    'its text">x + 1</span> after <math><mi>y</mi></math></p>')


def test_does_tex_that_would_nest_too_deep_stay_tex():
    from autograder.pages import mathml

    assert mathml.tex_to_mathml("\\sqrt{" * 10 + "x" + "}" * 10).startswith("<math")
    deep = "\\sqrt{" * 40 + "x" + "}" * 40
    assert mathml.tex_to_mathml(deep) == f'<span class="tex-source">${deep}$</span>'
    assert mathml.tex_to_mathml(deep, display=True) == f'<span class="tex-source">$${deep}$$</span>'

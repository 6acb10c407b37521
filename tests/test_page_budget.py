"""Does a page show at most its budget of a notebook's cells, both kinds of page, and all of the
course's own notebooks? (autograder/pages/page_budget.py)"""
import copy
import tempfile

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from autograder import course
from autograder.pages import html_safety, page_budget
from autograder.pages.exporter import FeedbackHTMLExporter
from autograder.pages.page_budget import SHOWN_AS_TEXT

SCORES = {"nbgrader": {"notebook": "budget", "score": 0, "max_score": 1, "late_penalty": 0}}
LINE = "x = [1, 2, 3]  # a comment with 'quotes'\n"
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def notebook(*cells):
    return new_notebook(cells=list(cells), metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def code_of(size):
    return (LINE * (size // len(LINE) + 1))[:size]


def course_config(course_root):
    config = GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir())).config
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config())
    return config


@pytest.fixture
def highlighted(monkeypatch):
    """The characters Pygments was given, call by call."""
    from nbconvert.filters import highlight

    given, real = [], highlight._pygments_highlight

    def counting(source, *args, **kwargs):
        given.append(len(source))
        return real(source, *args, **kwargs)
    monkeypatch.setattr(highlight, "_pygments_highlight", counting)
    return given


def feedback_page(course_root, nb):
    page, _ = FeedbackHTMLExporter(config=course_config(course_root)).from_notebook_node(
        nb, resources={k: dict(v) for k, v in SCORES.items()})
    return page


def formgrader_page(course_root, nb):
    """The page of the exporter the formgrader makes from the course's configuration, with
    nbconvert's classic template instead of the formgrader's (which needs the formgrader's
    resources): cells pass through the same filters and preprocessors either way."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    page, _ = HTMLExporter(config=config, template_name="classic").from_notebook_node(nb)
    return page


@pytest.mark.parametrize("make_page", [feedback_page, formgrader_page], ids=["feedback", "formgrader"])
def test_is_code_past_the_colour_budget_shown_plain_and_cut(course_root, highlighted, make_page):
    small, large = code_of(1000), code_of(3_000_000)
    page = make_page(course_root, notebook(new_code_cell(small), new_code_cell(large), new_code_cell("y = 2")))
    assert highlighted == [1000, 5]  # the large cell never reached Pygments; the cells around it did
    assert f"... ({3_000_000 - SHOWN_AS_TEXT:,} more characters not shown)" in page
    assert "x = [1, 2, 3]  # a comment with &#39;quotes&#39;" not in page.split("more characters not shown")[0][-200:]
    assert len(page) < 2_000_000  # 21 MB of coloured HTML before


def test_is_markdown_past_its_budget_shown_as_text(course_root):
    words = "Some *text* with `code` and a [link](https://example.org).\n\n"
    first = words * (page_budget.RENDERED_MARKDOWN // len(words) - 10)
    second = "# A heading\n\n" + words * 50_000
    page = feedback_page(course_root, notebook(new_markdown_cell(first), new_markdown_cell(second)))
    assert page.count("<em>text</em>") == first.count("*text*")  # the first rendered, whole
    assert "markdown past the 500,000 characters a page renders: shown as text" in page
    assert "# A heading" in page and "<h1" not in page.split("shown as text")[1]


def test_does_a_page_colour_at_most_its_budget_of_code(course_root, highlighted):
    size = page_budget.LONGEST_CELL
    cells = [new_code_cell(code_of(size)) for _ in range(page_budget.HIGHLIGHTED // size + 2)]
    page = feedback_page(course_root, notebook(*cells))
    assert highlighted == [size] * (page_budget.HIGHLIGHTED // size)  # the cells past it: without colour
    assert page.count('<pre><span></span>x = [1, 2, 3]') == 2  # plain_code's markup


def test_does_a_page_show_at_most_its_budget_of_sources_then_notes(course_root, highlighted):
    cells = [new_code_cell(code_of(SHOWN_AS_TEXT)) for _ in range(30)] + [new_raw_cell("raw " * 10),
                                                                           new_markdown_cell("*late*")]
    page = feedback_page(course_root, notebook(*cells))
    assert highlighted == []  # cells past LONGEST_CELL are never coloured
    notes = page.count("characters of this cell are not shown: a page shows at most 2,000,000")
    assert notes == 32 - page_budget.SHOWN // SHOWN_AS_TEXT
    assert "<em>late</em>" not in page and len(page) < 8_000_000


def test_does_a_students_own_marker_change_nothing(course_root, highlighted):
    """The metadata key that tells the filter to skip colour is the budget's to set: one a
    student wrote is removed."""
    cell = new_code_cell("y = 2", metadata={page_budget.PLAIN: True})
    feedback_page(course_root, notebook(cell))
    assert highlighted == [5]


def test_are_the_released_code_cells_coloured_once_and_the_page_the_same(course_root, highlighted, monkeypatch):
    """The fork server colours the released notebooks' code cells once (worker/warm.py); a page
    then asks Pygments only for the cells whose text or lexer differs, and is the same page."""
    from autograder.worker import warm

    highlighter = page_budget._highlighter(warm.KERNEL_LEXER)
    monkeypatch.setattr(highlighter, "known", {})
    highlighted.clear()  # what importing warm coloured (the fork server's warm-up, run here)
    graded = nbformat.read(str(course_root / "release" / "a02_cat_dnn" / "a02_cat_dnn.ipynb"), as_version=4)
    graded.metadata.language_info = {"name": "python", "pygments_lexer": warm.KERNEL_LEXER}  # as its kernel says
    code = [cell for cell in graded.cells if cell.cell_type == "code"]
    for cell in graded.cells:
        cell.metadata.pop("nbgrader", None)  # no scores to show: the cells alone
    code[3].source += "\nprint('changed')"  # a student's edit of a given cell
    code[5].metadata["magics_language"] = "python"  # the same text, another lexer
    code[6].metadata[page_budget.PLAIN] = True  # a student's marker, removed: coloured as the others
    before = feedback_page(course_root, copy.deepcopy(graded))
    assert len(highlighted) == len(code)
    warm.prepare_released_cells(course_root)
    assert len(highlighter.known) >= len({cell.source for cell in code}) > 20
    highlighted.clear()
    assert feedback_page(course_root, copy.deepcopy(graded)) == before
    assert len(highlighted) == 2  # the edited cell and the one under another lexer


def test_are_the_released_markdown_cells_rendered_once_and_the_page_the_same(course_root, monkeypatch):
    """The fork server also turns the released notebooks' markdown cells into HTML once
    (worker/warm.py); a page then renders only the markdown cells whose text differs or that
    carry attachments, and is the same page. Markdown with an image is never kept: its HTML
    spends of its page's budget."""
    from autograder.worker import warm

    monkeypatch.setattr(html_safety, "_KNOWN_HTML", {})
    monkeypatch.setattr(html_safety, "_KNOWN_STRIPPED", {})
    rendered = []

    class Counting(html_safety.MarkdownWithMath):
        def render(self, source):
            rendered.append(source)
            return super().render(source)
    monkeypatch.setattr(html_safety, "MarkdownWithMath", Counting)
    graded = nbformat.read(str(course_root / "release" / "a02_cat_dnn" / "a02_cat_dnn.ipynb"), as_version=4)
    markdown = [cell for cell in graded.cells if cell.cell_type == "markdown"]
    for cell in graded.cells:
        cell.metadata.pop("nbgrader", None)  # no scores to show: the cells alone
    markdown[2].source += "\n\nMy own answer, *in italics*."  # a student's edit of a given cell
    markdown[4].source = "A dot: ![a dot](attachment:dot.png)"  # text known without its attachment...
    markdown[4].attachments = {"dot.png": {"image/png": PIXEL}}  # ...and here with it
    image = f"Text and ![an image](data:image/png;base64,{PIXEL})"
    markdown[6].source = image  # a student's own image
    before = feedback_page(course_root, copy.deepcopy(graded))
    assert len(rendered) == len(markdown)
    warm.prepare_released_cells(course_root)
    assert len(html_safety._KNOWN_HTML) >= len({cell.source for cell in markdown}) > 20
    html_safety.remember_markdown(image)
    assert image not in html_safety._KNOWN_HTML  # it spent of its budget
    html_safety.remember_markdown(markdown[4].source)
    assert markdown[4].source in html_safety._KNOWN_HTML  # its image missing: it spent nothing
    rendered.clear()
    assert feedback_page(course_root, copy.deepcopy(graded)) == before
    assert sorted(rendered) == sorted(markdown[i].source for i in (2, 4, 6))


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_are_the_courses_own_notebooks_far_inside_every_budget(course_root, assignment):
    """The instructor's notebooks, solutions in, pass through unchanged, with room to spare."""
    source = nbformat.read(str(course_root / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    bounded = copy.deepcopy(source)
    page_budget.bound_sources(bounded)
    assert [c.source for c in bounded.cells] == [c.source for c in source.cells]
    assert not any(page_budget.PLAIN in c.metadata for c in bounded.cells)
    code = sum(len(c.source) for c in source.cells if c.cell_type == "code")
    markdown = sum(len(c.source) for c in source.cells if c.cell_type == "markdown")
    assert code * 4 < page_budget.HIGHLIGHTED and markdown * 4 < page_budget.RENDERED_MARKDOWN, (code, markdown)


def test_is_a_colour_code_of_many_numbers_cut_to_its_last():
    """nbconvert's ansi2html takes a code's numbers off the front of a list, one by one: 100,000
    of them took it 0.7 s, four times as long as half as many. The last 16 say the same colour."""
    from nbconvert.filters.ansi import ansi2html

    output = new_output("stream", name="stdout", text="\x1b[" + "1;" * 500_000 + "31mred\x1b[0m")
    text = html_safety.sanitize_output(output).text
    assert text == "\x1b[" + "1;" * 15 + "31mred\x1b[0m"
    assert ansi2html(text) == ansi2html("\x1b[1;31mred\x1b[0m")


def test_are_colour_codes_past_the_limit_removed_and_their_text_kept():
    """ansi2html copies the rest of the text at each code: 40,000 codes in one output took it 1 s,
    10,000 a tenth of that. Past the first 2,000 of one output (its traceback's lines together)
    the text stays, uncoloured."""
    stream = html_safety.sanitize_output(new_output("stream", name="stdout", text="\x1b[31mx\x1b[0m" * 100_000))
    assert stream.text.count("\x1b") == page_budget.ANSI_CODES and stream.text.count("x") == 100_000
    error = html_safety.sanitize_output(new_output("error", ename="E", evalue="",
                                                   traceback=["\x1b[31mline\x1b[0m"] * 3_000))
    assert sum(line.count("\x1b") for line in error.traceback) == page_budget.ANSI_CODES
    lines = "\n".join(error.traceback).split("\n")  # a long traceback is one text (text_blocks)
    assert len(lines) == 3_000 and all("line" in line for line in lines)


def test_does_an_ordinary_coloured_traceback_keep_its_colours():
    traceback = ["\x1b[0;31m---------------------------------------------------------------------------\x1b[0m",
                 "\x1b[0;31mValueError\x1b[0m                                Traceback (most recent call last)",
                 "Cell \x1b[0;32mIn[3], line 1\x1b[0m\n\x1b[0;32m----> 1\x1b[0m \x1b[43mpropagate\x1b[49m(w, b, x, y)"]
    error = html_safety.sanitize_output(new_output("error", ename="ValueError", evalue="x", traceback=list(traceback)))
    assert error.traceback == traceback


def test_is_markdown_in_outputs_past_the_pages_budget_shown_as_text(course_root):
    cells = new_markdown_cell("word " * 90_000), new_code_cell("display(Markdown(text))", outputs=[
        new_output("display_data", data={"text/markdown": "*output* " * 30_000, "text/plain": "<Markdown>"})])
    page = feedback_page(course_root, notebook(*cells))
    assert "markdown past the 500,000 characters a page renders: shown as text" in page
    assert "<em>output</em>" not in page and "*output* *output*" in page


def test_is_code_in_another_language_or_with_a_long_line_shown_without_colour(course_root, highlighted):
    """A student names a code cell's lexer (its metadata's magics_language) and a markdown code
    block's (```name): some of Pygments' lexers take seconds on a few kilobytes written for them,
    and IPython's own is quadratic in the length of a line. Only Python is coloured, in lines of
    at most LONGEST_LINE characters, and no code block of markdown; the rest is shown as text, whole."""
    longest = page_budget.LONGEST_LINE
    cells = [new_code_cell('"\\\\' * 1000, metadata={"magics_language": "actionscript"}),
             new_code_cell("%%bash\necho hello", metadata={"magics_language": "bash"}),
             new_code_cell("*" * (longest + 1)),
             new_code_cell(" \n" * 5_000),
             new_code_cell("x = 1\n" * 2_000),
             new_code_cell("a = 1  # " + "x" * (longest - 9)),
             new_markdown_cell("```actionscript\n" + '"\\\\' * 1000 + "\n```\n\n```python\nb = 2\n```")]
    page = feedback_page(course_root, notebook(*cells))
    assert highlighted == [longest]  # the Python cell whose longest line is at the limit, alone
    assert "echo hello" in page and "*" * (longest + 1) in page and "x = 1\nx = 1" in page
    assert '<pre><span></span>"\\\\"\\\\' in page and '<pre><code class="language-actionscript">"\\\\"\\\\' in page
    assert '<pre><code class="language-python">b = 2' in page  # markdown's code blocks: never coloured


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_is_every_code_cell_of_the_courses_notebooks_coloured(assignment, course_root):
    source = nbformat.read(str(course_root / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    assert all(page_budget.colours(c.source, "ipython3") for c in source.cells if c.cell_type == "code")

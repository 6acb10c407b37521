"""Does a page show long preformatted text in blocks, as it looked, on both kinds of page?
(autograder/pages/text_blocks.py)

Chromium lays out one block of text in time that grows with the square of its changes of
direction or script: the module's docstring has the figures, and the boundary case
``text_costly_to_lay_out`` a page of it. Here: what the blocks hold (the text, every line, tags
closed and opened again across cuts), that the markup they are not for is left as it is, that
every place a page writes long text uses them, and, in Chromium, that a page looks the same with
every ``<pre>`` in blocks as without.
"""
import html
import re

import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

import hostile_html
from autograder.pages import html_safety, text_blocks
from autograder.pages.text_blocks import LARGE, PIECE, in_blocks
from test_page_budget import feedback_page, formgrader_page, notebook

MIXED = "".join("a" if i % 2 else "\u05d0" for i in range(LARGE + 5000))  # Latin and Hebrew letters in turn


def blocks(markup):
    """[(text of each line block, [text of each of its pieces])] of ``markup`` made by in_blocks."""
    soup = BeautifulSoup(f"<pre>{markup}</pre>", "html.parser")
    lines = soup.pre.find_all("span", class_=text_blocks.LINE, recursive=False)
    assert "".join(map(str, lines)) == markup.removeprefix("\n") or lines, "nothing outside the line blocks"
    return [(line.get_text(), [piece.get_text() for piece in line.find_all("span", class_=text_blocks.PIECE_CLASS)])
            for line in lines]


def test_small_text_is_left_as_it_is():
    small = html.escape("x < 1\n" * (LARGE // 9))  # LARGE characters of markup at most
    assert in_blocks(small) == small


def test_each_line_is_a_block_and_the_text_is_the_same():
    text = "first line\n\n  indented & <escaped>\n" + "a line\n" * (LARGE // 7) + "no line break at the end"
    made = in_blocks("\n" + html.escape(text))  # a <pre>'s first line break is the parser's: no line
    lines = blocks(made)
    assert [line for line, _ in lines] == [line or "\n" for line in text.split("\n")]  # an empty line keeps its break
    assert made.count(f'<span class="{text_blocks.LINE}">') == text.count("\n") + 1
    assert all(pieces == [] for _, pieces in lines)



def test_a_carriage_return_breaks_a_line_as_the_parser_reads_it():
    """A progress bar's carriage returns: the HTML parser reads CR and CR LF as a line feed."""
    made = in_blocks("\r\n" + "a\rb\r\nc\n" * (LARGE // 7))
    assert [line for line, _ in blocks(made)] == ["a", "b", "c"] * (LARGE // 7)
    assert "\r" not in made

def test_a_long_line_is_cut_into_pieces_and_no_character_is_cut():
    line = ("&amp;" + "\u05d0b") * (LARGE // 2)  # an entity is one character: never cut
    made = in_blocks(line)
    [(text, pieces)] = blocks(made)
    assert text == html.unescape(line)
    assert "".join(pieces) == text and all(len(piece) <= PIECE for piece in pieces)
    assert len(pieces) == -(-len(text) // PIECE)
    assert all(piece.startswith(("&", "\u05d0", "b")) for piece in pieces)


def test_a_tag_across_a_cut_is_closed_before_it_and_opened_again_after_it():
    coloured = '<span class="ansi-red-fg">' + "red\n" * (LARGE // 4) + "red</span>\nplain\n"
    made = in_blocks(coloured)
    soup = BeautifulSoup(made, "html.parser")
    lines = soup.find_all("span", class_=text_blocks.LINE)
    assert len(lines) == LARGE // 4 + 2
    for line in lines[:-1]:
        [red] = line.find_all("span", class_="ansi-red-fg")
        assert red.get_text() == "red"
    assert lines[-1].get_text() == "plain" and not lines[-1].find("span", class_="ansi-red-fg")
    long = '<span class="k">' + "x" * (3 * PIECE) + "</span>"
    pieces = BeautifulSoup(in_blocks(long * (LARGE // len(long) + 1)), "html.parser").find_all(
        "span", class_=text_blocks.PIECE_CLASS)
    assert all(piece.find("span", class_="k") for piece in pieces)  # the colour goes on in every piece


@pytest.mark.parametrize("markup", [
    "a < b\n" * LARGE,                              # a "<" that starts no tag
    "<span>open\n" * (LARGE // 10),                 # a tag never closed
    "<span>a</b>\n" * (LARGE // 10),                # closed by another
], ids=["bare <", "unclosed", "crossed"])
def test_markup_it_is_not_for_is_left_as_it_is(markup):
    assert in_blocks(markup) == markup


def long_text_notebook():
    return notebook(
        new_code_cell("x = '" + MIXED + "'"),
        new_code_cell("print(x)", outputs=[new_output("stream", name="stdout", text=MIXED)]),
        new_code_cell("x", outputs=[new_output("execute_result", data={"text/plain": MIXED}, execution_count=1)]),
        new_code_cell("raise", outputs=[new_output("error", ename="E", evalue="v",
                                                   traceback=[MIXED[i:i + 100] for i in range(0, len(MIXED), 100)])]),
        new_markdown_cell("```\n" + MIXED + "\n```"),
        new_markdown_cell("x" * 600_000),  # past the markdown a page renders: shown as text
    )


@pytest.mark.parametrize("make_page", [feedback_page, formgrader_page], ids=["feedback", "formgrader"])
def test_every_long_text_of_a_page_is_in_blocks(course_root, make_page):
    page = make_page(course_root, long_text_notebook())
    soup = BeautifulSoup(page, "html.parser")
    for pre in soup.find_all("pre"):
        if len(pre.get_text()) > LARGE:
            assert pre.find("span", class_=text_blocks.LINE, recursive=False), pre.get_text()[:80]
            innermost = [block for block in pre.find_all("span", class_=[text_blocks.LINE, text_blocks.PIECE_CLASS])
                         if not block.find("span", class_=text_blocks.PIECE_CLASS)]
            assert max(len(block.get_text()) for block in innermost) <= PIECE
    long = [pre for pre in soup.find_all("pre") if len(pre.get_text()) > LARGE]
    assert len(long) == 6  # the code, the three outputs, the code block, the markdown shown as text
    assert sum(MIXED in pre.get_text().replace("\n", "") for pre in long) == 5
    if make_page is feedback_page:  # the formgrader's own template carries the style (test_formgrader_safety)
        assert page.count(text_blocks.STYLE) == 1


def test_the_formgrader_template_writes_the_style():
    from autograder.pages import formgrader

    _, resources = formgrader.PagePolicy()(None, {})
    assert text_blocks.STYLE in resources["page_style"]
    template = (formgrader.TEMPLATE_BASEDIRS[0] + "/formgrade/formgrade_macros.html.j2")
    assert "{{ resources.get('page_style') or '' }}" in open(template, encoding="utf-8").read()


BOXES = "Array.from(document.querySelectorAll('pre, p, h1, table')).map(e => JSON.stringify(e.getBoundingClientRect()))"


def test_a_page_looks_the_same_with_every_pre_in_blocks(course_root, chromium, monkeypatch):
    """The course's reference notebook of a01 with coloured tracebacks, empty lines, a colour
    across lines and a long line: every element where it was, whether its <pre>s are blocks."""
    from autograder import notebook_cells

    nb = notebook_cells.read("a01_santa_logreg")
    for cell in nb.cells:  # as graded: the feedback template shows each grade cell's score
        if "points" in cell.metadata.get("nbgrader", {}):
            cell.metadata.nbgrader["score"] = 0
    coloured = ("\x1b[31mred\nstill red\x1b[0m\n\n  after an empty line\n" + "long " * 1000 + "\n"
                + "progress 1/3\rprogress 2/3\r\nprogress 3/3\r\r\n" + "\r".join(["step"] * 600) + "\n")
    nb.cells.insert(3, new_code_cell("print(1)", outputs=[
        new_output("stream", name="stdout", text="\nleading line break\n" + coloured),
        new_output("error", ename="ValueError", evalue="v", traceback=[
            "\x1b[0;31m---------\x1b[0m", "\x1b[0;31mValueError\x1b[0m: v\nsecond line", ""])]))
    seen = {}
    for large in (10 ** 12, 0):
        monkeypatch.setattr(text_blocks, "LARGE", large)
        page = feedback_page(course_root, nb)
        assert (large == 0) == (f'class="{text_blocks.LINE}"' in page)
        tab = chromium.new_page(viewport={"width": 1100, "height": 800})
        try:
            tab.set_content(page)
            seen[large] = (tab.evaluate("document.documentElement.scrollHeight"), tab.evaluate(BOXES))
        finally:
            tab.close()
    assert seen[0] == seen[10 ** 12]
    assert len(seen[0][1]) > 50
    assert len(re.findall(text_blocks.LINE, page)) > 100


RIGHT_TO_LEFT = "\u05d0"


def test_html_is_cut_where_its_text_has_turned_too_often_in_one_block():
    turn = "a" + RIGHT_TO_LEFT
    paragraph = f'<p>{turn * 600}<b class="x">{turn * 600}</b>{turn * 100}</p><div>{turn * 900}</div>'
    made = text_blocks.html_in_blocks(paragraph * 20)
    cut = f'<span class="{text_blocks.CUT_CLASS}"></span>'
    # The 1,001st turn of a paragraph is inside <b>: closed before the cut, opened again after it;
    # the <div> starts a block of its own and turns 900 times only.
    assert made.count(cut) == 20
    assert made.count(f'a</b>{cut}<b class="x">{RIGHT_TO_LEFT}') == 20
    assert made.replace(f"</b>{cut}<b class=\"x\">", "") == paragraph * 20
    assert text_blocks.html_in_blocks(made) == made  # sanitised twice, cut once
    assert BeautifulSoup(made, "html.parser").get_text() == BeautifulSoup(paragraph * 20, "html.parser").get_text()



def test_html_is_cut_in_a_long_run_of_combining_marks():
    accents = "\u0301" * 2500 + "\u05b0" * 500  # an acute accent, then a Hebrew point: one run of marks
    made = text_blocks.html_in_blocks(f"<p><i>a{accents}</i> b</p>" + "x" * LARGE)
    cut = f'<span class="{text_blocks.CUT_CLASS}"></span>'
    assert made == (f"<p><i>a{accents[:1000]}</i>{cut}<i>{accents[1000:2000]}</i>{cut}<i>{accents[2000:]}</i> b</p>"
                    + "x" * LARGE)
    few = "<p>a" + "\u0301" * 1000 + "</p>" + "x" * LARGE  # 1,000 in a row: not cut
    assert text_blocks.html_in_blocks(few) == few

@pytest.mark.parametrize("markup", [
    "<p>" + "a" * (LARGE + 1) + "</p>",                                       # one direction
    "<p>" + ("a" + RIGHT_TO_LEFT) * 900 + "</p>" * 20,                        # unbalanced
    "<p>" + ("a" + RIGHT_TO_LEFT) * 2000 + "</p>",                            # small
    "<math>" + ("<mi>a</mi><mi>" + RIGHT_TO_LEFT + "</mi>") * 2000 + "</math>",  # MathML
    "<p>" + ("a" + RIGHT_TO_LEFT) * 9000 + "</p><p>a < b</p>",              # not as the sanitiser writes
], ids=["one direction", "unbalanced", "small", "mathml", "bare <"])
def test_html_it_need_not_or_cannot_cut_is_left_as_it_is(markup):
    assert text_blocks.html_in_blocks(markup) == markup


@pytest.mark.parametrize("make_page", [feedback_page, formgrader_page], ids=["feedback", "formgrader"])
def test_student_html_and_markdown_are_cut_on_a_page(course_root, make_page):
    turns = ("a" + RIGHT_TO_LEFT) * 20_000
    page = make_page(course_root, notebook(
        new_markdown_cell("Some *" + turns + "* text."),
        new_code_cell("display(HTML(text))", outputs=[new_output("display_data", data={
            "text/html": f"<p><span>{turns}</span></p>", "text/plain": "<HTML>"})])))
    cut = f'<span class="{text_blocks.CUT_CLASS}"></span>'
    assert page.count(f"a</em>{cut}<em>{RIGHT_TO_LEFT}") == 19
    assert page.count(f"a</span>{cut}<span>{RIGHT_TO_LEFT}") == 19


@pytest.mark.parametrize("form", sorted([*hostile_html.MARKDOWN, *hostile_html.RAW]))
def test_cuts_in_hostile_html_add_only_their_own_blocks(form):
    """Each hostile form of the safety tests, between long runs of turning text inside inline
    elements that carry attributes: what the cuts make is what the sanitiser would leave as it is
    (the elements they open again are copies of tags it wrote), and runs nothing."""
    turns = ("a" + RIGHT_TO_LEFT) * 12_000  # 12,000 turns: cut 11 times
    source = {**hostile_html.MARKDOWN, **hostile_html.RAW}[form]
    made = html_safety.sanitize(f'<p><a href="https://example.org" title="t" style="color: red"><b>{turns}</b></a></p>'
                                f"{source}<div><i>{turns}</i></div>")
    # (a form that leaves an element open, as md-mutation, takes the <div> after it into it)
    assert made.count(f'<span class="{text_blocks.CUT_CLASS}"></span>') in (11, 22)
    assert html_safety._CLEANER.clean(made) == made
    assert hostile_html.active_content(made) == []

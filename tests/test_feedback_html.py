"""Feedback pages rendered with templates compiled once (autograder/pages/exporter.py).

What they let student HTML do is tested in test_html_safety.py."""
import subprocess
import sys
import tempfile
from pathlib import Path

import jinja2
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory

from autograder.worker import warm
from autograder.pages.exporter import COMPILED_TEMPLATES, FeedbackHTMLExporter

ROOT = Path(__file__).resolve().parent.parent
SCORES = {"nbgrader": {"notebook": "a01", "score": 0, "max_score": 1, "late_penalty": 0}}


def feedback_config():
    return GenerateFeedback(coursedir=CourseDirectory(root=tempfile.gettempdir())).config


def test_does_the_course_make_feedback_with_this_exporter():
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert config.GenerateFeedback.exporter_class is FeedbackHTMLExporter


def test_are_the_templates_compiled_only_once(monkeypatch):
    COMPILED_TEMPLATES.clear()
    parsed = []
    parse = jinja2.Environment._parse
    monkeypatch.setattr(jinja2.Environment, "_parse",
                        lambda self, source, name, filename: parsed.append(name) or parse(self, source, name, filename))
    notebook = warm._tiny_notebook()
    first, _ = FeedbackHTMLExporter(config=feedback_config()).from_notebook_node(notebook, resources=SCORES)
    first_parsed = len(parsed)
    assert first_parsed > 5  # the feedback template and its parents
    again, _ = FeedbackHTMLExporter(config=feedback_config()).from_notebook_node(notebook, resources=SCORES)
    assert len(parsed) == first_parsed  # a new exporter, no template parsed again
    assert first == again and "Score: 0.0 / 1.0" in first


def test_is_the_page_the_stock_one_but_for_scripts_fonts_and_its_policy():
    """What the stock exporter shows, the feedback page shows; it only leaves out the MathJax
    scripts and the font files a page opened from disk cannot load, and adds its policy."""
    notebook = warm._tiny_notebook()
    stock, _ = HTMLExporter(config=feedback_config()).from_notebook_node(notebook, resources=SCORES)
    ours, _ = FeedbackHTMLExporter(config=feedback_config()).from_notebook_node(notebook, resources=SCORES)
    stock_soup, our_soup = BeautifulSoup(stock, "html.parser"), BeautifulSoup(ours, "html.parser")
    assert [s.get("src", "") for s in stock_soup.find_all("script")][0].startswith("https://cdnjs")
    for script in stock_soup.find_all("script"):
        script.decompose()
    assert our_soup.find_all("script") == []
    assert our_soup.head.find("meta")["http-equiv"] == "Content-Security-Policy"
    maths = our_soup.find("math")
    assert maths.get_text() == "x2" and maths.find("msup") is not None  # $x^2$ as MathML
    maths.replace_with("$x^2$")
    assert stock_soup.get_text().split() == our_soup.get_text().split()
    assert "@font-face" in stock and "@font-face" not in ours
    # What the stock exporter adds with BeautifulSoup, added here by text: alt text on images. (Its
    # keyboard focus goes to the cells of JupyterLab-style pages only, which this template is not.)
    stock_alts = [img.get("alt") for img in stock_soup.find_all("img")]
    assert stock_alts == ["No description has been provided for this image"]
    assert [img.get("alt") for img in our_soup.find_all("img")] == stock_alts
    assert stock_soup.find_all(tabindex="0") == [] == our_soup.find_all(tabindex="0")


def test_does_the_fork_servers_warm_up_compile_the_feedback_templates():
    script = ("import autograder.worker.warm\nfrom autograder.pages.exporter import COMPILED_TEMPLATES\n"
              "print(len(COMPILED_TEMPLATES.store))")
    shown = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    assert int(shown.stdout.strip()) > 5

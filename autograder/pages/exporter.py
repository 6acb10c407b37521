"""nbgrader's feedback pages, with their Jinja templates compiled once for many students.

``generate_feedback`` turns each graded notebook into HTML with a new nbconvert
``HTMLExporter``, and each exporter parses and compiles the same templates again (about 0.1 s
a student here). :class:`FeedbackHTMLExporter` is that exporter with one in-memory store of
compiled templates (Jinja's bytecode cache) for the whole process: the workers' fork server
fills it once (``autograder/worker/warm.py``) and every nbgrader process forked from it starts with it
filled. Jinja checks each template's source against the stored code, so a changed template is
compiled anew.

Feedback pages run no script and need no network (students open them from disk, offline, after
``nbgrader release_feedback`` copied the .html files alone):

- student HTML is sanitised (``autograder.pages.html_safety``: the ``markdown2html`` and
  ``strip_files_prefix`` filters and the :class:`~autograder.pages.html_safety.SanitizeNotebook`
  preprocessor, which this exporter installs itself);
- maths is MathML, made here (``autograder.pages.mathml``), which browsers draw themselves: the
  template's MathJax (a script from a CDN) is left out;
- each page starts with a Content-Security-Policy that allows no script at all, nothing from the
  network, only its own inline CSS and ``data:`` images: a sanitiser miss still cannot run.

nbconvert's ``HTMLExporter`` ends by parsing the whole page with BeautifulSoup to add alt text to
images that have none, and keyboard focus (``tabindex``) to the cells of a JupyterLab-style page
(``.jp-Notebook``, which nbgrader's classic feedback template does not make): more than half of
the time of a long notebook's page. This exporter adds the alt text by text instead.
"""
import re

from jinja2 import BytecodeCache, DictLoader
from markupsafe import Markup
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from traitlets import default

from .html_safety import FILTERS, PAGE_STYLE, SanitizeNotebook


class InMemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept in this process (and its forks), by Jinja's key."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()

    def clear(self):
        self.store.clear()


COMPILED_TEMPLATES = InMemoryBytecodeCache()


# What a feedback page may use: its own inline CSS, data: images and fonts. No script (not even
# inline), no request to any server, no form, no <base>.
CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                           "font-src data:; base-uri 'none'; form-action 'none'")
_POLICY_META = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
_PAGE_START = re.compile(r"\s*(<!DOCTYPE html>\s*)?<html[^<>]*>\s*<head>", re.IGNORECASE)
# Inlined stylesheets (Bootstrap's) declare fonts in files next to them, which a page opened from
# disk does not have: the browser's vain attempts to load them would be console errors.
_FONT_FACE = re.compile(r"@font-face\s*\{[^{}]*\}")
# nbgrader's feedback template calls {{ mathjax() }}, which loads MathJax from a CDN: here it is
# a macro that writes nothing (the maths is MathML already).
_NO_MATHJAX = DictLoader({"mathjax.html.j2": "{%- macro mathjax(url='') -%}{%- endmacro -%}"})
# What nbconvert's exporter adds with BeautifulSoup to a classic page: alt text on images without it.
_IMAGE_WITHOUT_ALT = re.compile(r"<img\b(?![^<>]*\balt=)", re.IGNORECASE)
_NO_ALT = '<img alt="No description has been provided for this image"'


def with_content_security_policy(page, policy_meta=_POLICY_META):
    """``page`` with ``policy_meta`` first in its <head>, before anything it governs."""
    start = _PAGE_START.match(page)
    if start is None:  # never a page without its policy
        raise ValueError("feedback page does not start with <html><head>: cannot put its policy first")
    return page[:start.end()] + "\n" + policy_meta + page[start.end():]


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, its templates compiled once per process, its pages script-free."""

    @default("extra_loaders")
    def _extra_loaders_default(self):
        return [_NO_MATHJAX]

    def default_filters(self):
        yield from super().default_filters()
        yield from FILTERS.items()

    def _init_preprocessors(self):
        super()._init_preprocessors()
        if not any(isinstance(p, SanitizeNotebook) for p in self._preprocessors):
            self.register_preprocessor(SanitizeNotebook, enabled=True)

    def _init_resources(self, resources):
        resources = super()._init_resources(resources)
        include_css = resources["include_css"]
        resources["include_css"] = lambda name: Markup(_FONT_FACE.sub("", include_css(name)))
        return resources

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        # HTMLExporter.from_notebook_node, its BeautifulSoup pass done by text (see above), and its
        # highlight_code the course's (html_safety.FILTERS: page_budget.highlight_code).
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        page = _IMAGE_WITHOUT_ALT.sub(_NO_ALT, page)
        return with_content_security_policy(page, _POLICY_META + PAGE_STYLE), resources

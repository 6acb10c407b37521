"""The formgrader's pages run no student script, and show maths with no internet.

nbgrader's formgrader (a Jupyter server extension) shows a submission for grading as a page that
a plain nbconvert ``HTMLExporter`` makes with nbgrader's "formgrade" template, in the
instructor's logged-in Jupyter origin: a script there reaches the kernels and every file. The
course configures that exporter in ``nbgrader_config.py``, which the formgrader reads:

- the sanitised ``markdown2html``/``strip_files_prefix`` filters and the
  :class:`~autograder.pages.html_safety.SanitizeNotebook` preprocessor (``autograder.pages.html_safety``);
- :class:`PagePolicy`, a preprocessor that gives each page a fresh nonce and its
  Content-Security-Policy: only scripts carrying the nonce (and what they load) run, so a
  script that slipped past the sanitiser still does not;
- ``templates/formgrade/`` here, found before nbgrader's folder of the same name (nbconvert
  looks for each file in the template folders in order): the course's copies of two partials,
  ``formgrade_macros.html.j2`` (the policy first, the nonce on every script of the page, MathJax
  from the local copy ``jupyter-server-mathjax`` serves instead of a CDN, given only the TeX that
  could not be made MathML, within bounds: the browser draws MathML itself) and
  ``mathjax.html.j2`` (empty: MathJax is loaded there). nbgrader's own ``index.html.j2`` and
  cell macros are used as they are.

As a Jupyter server extension (``admin/jupyter_server_config.py`` enables it) this module adds
HTTP headers that a policy in the page cannot give: ``object-src``/``base-uri``/
``frame-ancestors`` on the submission page, and ``sandbox`` on the files of a submission, which
nbgrader serves from ``autograded/`` at ``/formgrader/submissions/<id>/<file>`` with no policy
at all (Jupyter's own ``/files/`` sandboxes them the same way): an HTML file a student handed in
then opens in an opaque origin, away from the instructor's session. And on every response of the
server, JupyterLab's and the notebook's pages first, :func:`server_policy`: nothing loads from
another origin, so a notebook opened live ("Open live notebook") fetches no image from a
student's server.
"""
import functools
import os
import re
import secrets

import nbgrader
from jinja2 import Environment
from nbconvert.preprocessors import Preprocessor
from tornado.web import OutputTransform

from .html_safety import PAGE_STYLE

# Template folders for HTMLExporter.extra_template_basedirs: the course's partials first, then
# nbgrader's ("formgrade" for the formgrader, "feedback" for generate_feedback).
TEMPLATE_BASEDIRS = [os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates"),
                     os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates")]


def page_policy(nonce):
    """The submission page's Content-Security-Policy: its own nonce'd scripts and what they load
    ('strict-dynamic': MathJax loads its parts), its own server for the rest, no plugins, frames
    or <base>."""
    return ("default-src 'self'; "
            f"script-src 'nonce-{nonce}' 'strict-dynamic'; "
            "object-src 'none'; base-uri 'none'; frame-src 'none'; form-action 'self'; "
            "img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:")


class PagePolicy(Preprocessor):
    """A fresh nonce (``resources['csp_nonce']``), the page's policy
    (``resources['content_security_policy']``) and the course's CSS (``resources['page_style']``:
    long text's blocks, ``autograder.pages.text_blocks``; student markup kept within its cell,
    ``html_safety.CONTAINED_STYLE``) for the course's formgrade partials."""

    def __call__(self, nb, resources):
        nonce = secrets.token_urlsafe(18)
        resources["csp_nonce"] = nonce
        resources["content_security_policy"] = page_policy(nonce)
        resources["page_style"] = PAGE_STYLE
        return nb, resources


# HTTP headers, added to Jupyter's own policy (each policy is enforced).
PAGE_HEADER = "object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'"
FILE_HEADER = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
_NAVIGATION = re.compile(r"[^/]+/(next|prev|next_incorrect|prev_incorrect)/?")
_HOST = re.compile(r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def server_policy(base_url="/", host=None):
    """The policy of every response of the instructor's server, JupyterLab's and the notebook's
    pages first: nothing loads from another origin. A student's notebook opened there (the
    formgrader's "Open live notebook") with ``![x](http://...)`` or ``<img src="http://...">`` in
    its markdown or outputs made the instructor's browser fetch those URLs: a tracking pixel that
    told the student when, and from where, their work was read, and a GET to any URL from the
    instructor's browser.

    - ``default-src 'self'``: whatever is not named below, from this server only;
    - ``script-src 'self' 'unsafe-inline' 'unsafe-eval'``: no script from elsewhere. JupyterLab
      does not start without eval (its settings validator, ajv, compiles schemas with
      ``Function``); inline scripts are JupyterLab's and the notebook's (the one that takes the
      token out of the URL) and nbgrader's formgrader pages' (they do not work without them);
    - ``style-src 'self' 'unsafe-inline'``: JupyterLab, CodeMirror and MathJax set styles inline;
    - ``img-src``/``media-src 'self' data: blob:``: outputs are embedded (``data:``), JupyterLab's
      image viewer shows ``blob:`` URLs; ``font-src 'self' data:``: MathJax's and the theme's fonts;
    - ``connect-src 'self'`` and this host's ``ws:``/``wss:``: the API and the kernels' websockets
      ('self' covers websockets only in browsers that follow CSP 3);
    - ``frame-src 'self' blob:``: the formgrader in its JupyterLab tab, HTML files in JupyterLab's
      viewer (a ``blob:`` frame, which keeps this policy); ``worker-src 'self' blob:``;
    - ``object-src blob:``: JupyterLab's PDF viewer (an ``<object>`` of a ``blob:``), no plugin
      from anywhere else;
    - ``base-uri 'self'``, ``form-action 'self'``; ``frame-ancestors 'self'`` and ``report-uri``
      as in Jupyter's own policy, so each blocked load is a warning in the server's log
      ("Content security violation").
    """
    sockets = f" ws://{host} wss://{host}" if host and _HOST.fullmatch(host) else ""
    return ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
            "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; media-src 'self' data: blob:; "
            f"font-src 'self' data:; connect-src 'self'{sockets}; frame-src 'self' blob:; "
            "worker-src 'self' blob:; object-src blob:; base-uri 'self'; form-action 'self'; "
            f"frame-ancestors 'self'; report-uri {base_url.rstrip('/')}/api/security/csp-report")


def response_kind(path, base_url="/"):
    """'page', 'file' or None for a request path of the Jupyter server."""
    prefix = base_url.rstrip("/") + "/formgrader/submissions/"
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix):]
    if rest.startswith("components/") or _NAVIGATION.fullmatch(rest):
        return None  # nbgrader's own static files, redirects to the next submission
    return "page" if re.fullmatch(r"[^/]+/?", rest) else "file"


def escaping_templates(settings):
    """Have nbgrader's formgrader pages escape what their templates write (once; True where they do).

    nbgrader renders its own pages (the student and assignment lists, ``manage_students/<id>``)
    with a Jinja environment that escapes nothing, and they write the student id of their URL
    into their HTML and into a script (``var student_id = "{{ student_id }}"``): a link to an id
    that is markup, or a folder of that name in ``submitted/`` (the student list shows those),
    ran a script in the instructor's session. The environment is replaced by one with the same
    templates that escapes (an id then reaches the script as the text of the HTML entities: the
    gate refuses such ids, so no real student has one).
    """
    env = settings.get("nbgrader_jinja2_env")
    if env is None:
        return False  # nbgrader's extension has not made it yet
    if not env.autoescape:
        settings["nbgrader_jinja2_env"] = Environment(loader=env.loader, autoescape=True)
    return True


class SubmissionHeaders(OutputTransform):
    """Adds :func:`server_policy` to every response (beside Jupyter's own policy) and the policy
    headers of the formgrader's submission pages and submission files; and, at the first request
    after nbgrader's extension has loaded, has its templates escape."""

    def __init__(self, base_url, settings, request):
        super().__init__(request)
        self.kind = response_kind(request.path, base_url)
        self.policy = server_policy(base_url, request.host)
        if not settings.get("course_formgrader_escapes"):
            settings["course_formgrader_escapes"] = escaping_templates(settings)

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        headers.add("Content-Security-Policy", self.policy)
        headers["X-DNS-Prefetch-Control"] = "off"  # nor the names in a student's links
        if self.kind == "page":
            headers.add("Content-Security-Policy", PAGE_HEADER)
        elif self.kind == "file":
            headers.add("Content-Security-Policy", FILE_HEADER)
            headers["X-Content-Type-Options"] = "nosniff"
        return status_code, headers, chunk


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp):
    settings = serverapp.web_app.settings
    serverapp.web_app.add_transform(functools.partial(SubmissionHeaders, serverapp.base_url, settings))
    serverapp.log.info("every page gets a Content-Security-Policy that loads nothing from other origins, "
                       "formgrader submission pages and files their own; "
                       "nbgrader's formgrader templates escape what they write")

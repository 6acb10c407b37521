"""Does a hostile submission stay inert where instructors and students see it, for real?

One student's a01 notebook carries the hostile catalogue (tests/hostile_html.py): its markdown
as written, its outputs made by the student's kernel when the harness grades it. The harness
grades it in a temporary copy of the course (its gradebook and ``autograded/`` there), which
makes the feedback page with ``nbgrader generate_feedback`` and the course's configuration.
Then ``jupyter server`` starts in that copy with ``admin/jupyter_server_config.py``, as the
README tells instructors, and Chromium (network cut off) opens the formgrader's page of the
submission: no student script may run, maths must render with the local MathJax, and the page
must still work for grading. A second student's notebook shows images from a server of the
student's (a beacon, here on this machine): opened in JupyterLab from that server, as the
formgrader's "Open live notebook" does, it must render with nothing fetched from the beacon.
"""
import html
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

import browser
import hostile_html
from autograder.pages import formgrader as formgrader_safety
from autograder.pages import html_safety, text_blocks
from known_submissions import boundary

ASSIGNMENT = "a01_santa_logreg"
STUDENT = "hostile-student"
REMOTE_STUDENT = "remote-content-student"
TOKEN = "formgrader-safety-test-token"
NOT_COPIED = shutil.ignore_patterns(".venv", ".git", "submitted", "autograded", "feedback", "exchange",
                                    "gradebook.db*", "demo-output", "__pycache__", ".pytest_cache", ".cache")


def formgrader_exporter(course_root):
    """The exporter nbgrader's formgrader makes: its template, then the course's configuration."""
    from nbconvert.exporters import HTMLExporter
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = Config()
    config.HTMLExporter.template_name = "formgrade"  # FormgradeExtension.build_extra_config
    config.merge(PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config())
    return HTMLExporter(config=config)


def formgrader_resources():
    return {"assignment_id": ASSIGNMENT, "notebook_id": ASSIGNMENT, "submission_id": "abc123", "index": 0,
            "total": 1, "base_url": "/user/teacher", "student": STUDENT, "last_name": None, "first_name": None,
            "notebook_path": f"autograded/{STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"}


def test_does_the_formgrader_template_run_only_its_own_scripts(course_root):
    """Without a server: the page the formgrader's exporter makes of the hostile catalogue."""
    exporter = formgrader_exporter(course_root)
    pages = [exporter.from_notebook_node(hostile_html.hostile_notebook(), resources=formgrader_resources())[0]
             for _ in range(2)]
    nonces = [re.search(r"'nonce-([^']+)'", page).group(1) for page in pages]
    assert nonces[0] != nonces[1] and len(nonces[0]) >= 16  # a fresh nonce for every page

    def own_script(tag):
        local = ("/user/teacher/formgrader/static/", "/user/teacher/static/jupyter_server_mathjax/")
        return tag.get("nonce") == nonces[0] and (not tag.get("src") or tag["src"].startswith(local))

    assert hostile_html.active_content(pages[0], own_script, lambda tag: tag.name == "link") == []
    assert "cdnjs" not in pages[0] and pages[0].count("<math") >= 2


def test_which_responses_get_which_policy_header():
    kinds = {path: formgrader_safety.response_kind(path, "/user/t/") for path in (
        "/user/t/formgrader/submissions/abc/", "/user/t/formgrader/submissions/abc",
        "/user/t/formgrader/submissions/abc/notes.html", "/user/t/formgrader/submissions/abc/sub/x.png",
        "/user/t/formgrader/submissions/abc/next", "/user/t/formgrader/submissions/components/x.js",
        "/user/t/formgrader/gradebook", "/user/t/lab", "/formgrader/submissions/abc/")}
    assert kinds == {"/user/t/formgrader/submissions/abc/": "page", "/user/t/formgrader/submissions/abc": "page",
                     "/user/t/formgrader/submissions/abc/notes.html": "file",
                     "/user/t/formgrader/submissions/abc/sub/x.png": "file",
                     "/user/t/formgrader/submissions/abc/next": None,
                     "/user/t/formgrader/submissions/components/x.js": None,
                     "/user/t/formgrader/gradebook": None, "/user/t/lab": None, "/formgrader/submissions/abc/": None}


DEEP_MARKDOWN = "Notes:\n\n" + "<dd><dl>" * 60_000
SLOW_LEXER_MARKDOWN = "```mcschema\n" + "<!--" * 50 + "\n```"  # Pygments' mcschema lexer: over 90 s


class Beacon(http.server.ThreadingHTTPServer):
    """A student's server on this machine: records the path of every request it gets."""

    def __init__(self):
        self.requests = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):
                self.requests.append(handler.path)
                handler.send_response(204)
                handler.end_headers()

            def log_message(handler, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture(scope="module")
def beacon():
    server = Beacon()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def remote_content_submission(release, beacon_url):
    """The released notebook with what loads from the student's server in a notebook: an image in
    markdown and in its HTML, an HTML output with one (made by the kernel), and beside them an
    embedded PNG that must still show."""
    nb = nbformat.read(str(release), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(
        f"My notes ![diagram]({beacon_url}/markdown-image.png)\n\n"
        f'<img src="{beacon_url}/markdown-html-img.png" width=1> '
        f'<span style="background-image: url({beacon_url}/css-background.png)">styled</span>'))
    nb.cells.append(nbformat.v4.new_code_cell(
        "from IPython.display import HTML, Image, display\n"
        f"display(HTML('<img src=\"{beacon_url}/output-html-img.png\" width=1>'))\n"
        f"display(Image(data=__import__('base64').b64decode('{hostile_html.PNG}')))"))
    return nb


@pytest.fixture(scope="module")
def graded(course_root, data_cache, tmp_path_factory, beacon):
    """A copy of the course whose gradebook holds the hostile student and the student whose
    notebook loads from their server, graded by the harness."""
    work = tmp_path_factory.mktemp("formgrader")
    course = work / "course"
    shutil.copytree(course_root, course, ignore=NOT_COPIED, symlinks=True)
    folder = work / "submitted" / STUDENT / ASSIGNMENT
    folder.mkdir(parents=True)
    release = course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    submission = hostile_html.hostile_submission(release)
    # The catalogue's hostile maths (boundary.hostile_maths: with these, the page's MathJax took
    # 29.9 s before it was done; 2.9 s without them), first: after DEEP_MARKDOWN, the page's
    # 500,000 characters of markdown are spent.
    submission.cells.extend(boundary.hostile_maths())
    submission.cells.append(nbformat.v4.new_code_cell(boundary.LATEX_OUTPUT))
    submission.cells.append(nbformat.v4.new_markdown_cell(DEEP_MARKDOWN))
    submission.cells.append(nbformat.v4.new_markdown_cell(SLOW_LEXER_MARKDOWN))
    nbformat.write(submission, str(folder / f"{ASSIGNMENT}.ipynb"))
    remote = work / "submitted" / REMOTE_STUDENT / ASSIGNMENT
    remote.mkdir(parents=True)
    nbformat.write(remote_content_submission(release, beacon.url), str(remote / f"{ASSIGNMENT}.ipynb"))
    env = dict(os.environ, NBGRADER_DB_URL=f"sqlite:///{course / 'gradebook.db'}")
    result = subprocess.run([sys.executable, "-m", "autograder", "grade", ASSIGNMENT, str(work / "submitted"),
                             "--out", str(work / "out"), "--jobs", "1"], cwd=course, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    grades = (work / "out" / "grades.csv").read_text()
    assert grades.count(",graded,") == 2, grades
    return course, work / "out", env


@pytest.fixture(scope="module")
def formgrader(graded, tmp_path_factory):
    """``jupyter server`` in the graded course, configured as instructors start it; its URL."""
    course, _, env = graded
    jupyter = tmp_path_factory.mktemp("jupyter")
    env = dict(env, JUPYTER_CONFIG_DIR=str(jupyter / "config"), JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"))
    log = open(jupyter / "server.log", "w+")
    # Port 0: the server binds a port the system chooses, and says which in its runtime file.
    server = subprocess.Popen([sys.executable, "-m", "jupyter_server", "--config=admin/jupyter_server_config.py",
                               "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0", "--no-browser",
                               f"--IdentityProvider.token={TOKEN}", "--allow-root", f"--ServerApp.root_dir={course}"],
                              cwd=course, env=env, stdout=log, stderr=subprocess.STDOUT)
    runtime_file, url = jupyter / "runtime" / f"jpserver-{server.pid}.json", None
    try:
        for _ in range(240):
            try:
                url = url or f"http://127.0.0.1:{json.loads(runtime_file.read_text())['port']}"
                urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=2)
                break
            except (OSError, ValueError, KeyError):  # no runtime file yet, or no answer yet
                if server.poll() is not None:
                    break
                time.sleep(0.25)
        else:
            pytest.fail("jupyter server did not answer in 60 s")
        if server.poll() is not None:
            log.seek(0)
            pytest.fail(f"jupyter server exited:\n{log.read()[-3000:]}")
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def submission_url(graded, formgrader):
    from nbgrader.api import Gradebook

    _, _, env = graded
    with Gradebook(env["NBGRADER_DB_URL"]) as gradebook:
        submission = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        return f"{formgrader}/formgrader/submissions/{submission.id}/"


def fetch(url):
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read().decode("utf-8"), response.headers


@pytest.fixture(scope="module")
def formgrader_page(submission_url):
    return fetch(f"{submission_url}?token={TOKEN}")


@pytest.fixture(scope="module")
def formgrader_visit(chromium, submission_url):
    """The formgrader's page in Chromium, once its grades and MathJax have loaded."""
    def shown(page):
        ready = ("() => Boolean(window.MathJax && MathJax.loaded === true && window.formgrader"
                 " && formgrader.grades && formgrader.grades.loaded"
                 " && document.documentElement.getAttribute('data-course-maths') === 'typeset')")
        # Polled from here: Playwright's wait_for_function would need eval, which the page's policy forbids.
        for _ in range(150):
            if page.evaluate(ready):
                break
            page.wait_for_timeout(200)
        return page.evaluate("""() => {
            const cell = [...document.querySelectorAll('div.text_cell')]
                .find(c => c.textContent.includes('Inline maths'));
            return {mathjax: MathJax.version, grades: formgrader.grades.length,
                    scores: document.querySelectorAll('input.score').length,
                    rendered: cell.querySelectorAll('.MathJax, .MathJax_Display, math').length,
                    text: cell.innerText,
                    typeset: document.documentElement.getAttribute('data-course-maths'),
                    tex: [...document.querySelectorAll('span.tex-source')].map(span => ({
                        typeset: span.querySelector('.MathJax, .MathJax_Display') !== null,
                        title: span.title, length: span.textContent.length})),
                    mathml: [...document.querySelectorAll('math')].map(m => m.textContent.length)};
        }""")
    login = submission_url.split("/formgrader/")[0] + f"/?token={TOKEN}"  # as from JupyterLab: a cookie for the site
    return browser.visit(chromium, submission_url, settle_ms=1500, check=shown, login=login)


def test_is_the_feedback_page_generate_feedback_made_inert_in_chromium(graded, chromium):
    _, out, _ = graded
    page = out / "feedback" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.html"
    html = page.read_text(encoding="utf-8")
    assert BeautifulSoup(html, "html.parser").find_all("script") == []
    assert hostile_html.active_content(html) == []
    assert "window.__pwned" in html  # the payloads are there, as text (the student's code)
    seen, maths = browser.visit(chromium, page.as_uri(), check=lambda p: p.evaluate(
        "[...document.querySelectorAll('math')].filter(m => m.getBoundingClientRect().width > 5).length"))
    assert seen.pwned is None and seen.dialogs == [] and seen.final_url == page.as_uri()
    assert seen.console_errors == [] and seen.page_errors == [] and seen.blocked_requests == []
    assert maths > 20  # the assignment's formulas and the catalogue's, drawn as MathML


def test_does_the_formgrader_page_carry_only_its_own_scripts(formgrader_page):
    html, headers = formgrader_page
    soup = BeautifulSoup(html, "html.parser")
    policy = soup.head.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    nonce = policy["content"].split("'nonce-")[1].split("'")[0]
    assert len(nonce) >= 16
    assert html.index('http-equiv="Content-Security-Policy"') < html.index("<script")  # before any script

    def own_script(tag):
        local = ("/formgrader/static/", "/static/jupyter_server_mathjax/")
        return tag.get("nonce") == nonce and (not tag.get("src") or tag["src"].startswith(local))

    def own_tag(tag):
        return tag.name in ("input", "button", "textarea", "link")  # the grading form, stylesheets

    assert hostile_html.active_content(html, own_script, own_tag) == []
    assert len([s for s in soup.find_all("script") if not s.get("src")]) == 4  # the template's own
    assert "cdnjs" not in html
    assert "object-src 'none'" in ", ".join(headers.get_all("Content-Security-Policy"))


def test_does_no_student_script_run_in_the_formgrader(formgrader_visit, submission_url):
    seen, _ = formgrader_visit
    assert seen.pwned is None
    assert seen.dialogs == []
    assert seen.title == ASSIGNMENT
    assert seen.final_url.startswith(submission_url)  # no refresh, no form, no link took it away
    assert seen.console_errors == [] and seen.page_errors == []


def test_does_the_formgrader_render_maths_with_no_internet(formgrader_visit):
    seen, shown = formgrader_visit
    assert seen.blocked_requests == [] and seen.failed_requests == []  # MathJax came from this server
    assert shown["mathjax"].startswith("2.7")
    assert shown["rendered"] >= 2 and "$" not in shown["text"]


def test_does_the_formgrader_give_mathjax_only_bounded_tex(formgrader_visit):
    """MathJax typesets the TeX left as source within the page's bounds, nothing else: not the
    formulas too deep, too long or defining macros, not past 200 formulas, and not the MathML
    (the browser draws it). Before, the page's MathJax typeset all of it and redrew the MathML."""
    _, shown = formgrader_visit
    assert shown["typeset"] == "typeset"
    tex = shown["tex"]
    typeset = [span for span in tex if span["typeset"]]
    assert len(typeset) == 200 and all(span["title"] == "" for span in typeset)
    reasons = [span["title"] for span in tex if not span["typeset"]]
    assert reasons.count("Not typeset: nested more than 50 groups deep.") == 1
    assert reasons.count("Not typeset: longer than 1000 characters.") == 3  # one of them an output's
    assert reasons.count("Not typeset: it defines macros.") == 1
    assert reasons.count("Not typeset: the page typesets at most 200 formulas and 10000 characters.") >= 100
    assert len(reasons) == len(tex) - 200
    assert max(shown["mathml"]) > 8000  # the long formula is still MathML, drawn by the browser


def maths_chosen(chromium, spans):
    """(id of each span the formgrader's page gives MathJax, {id: title} of the others), by the
    page's own choosing script (formgrade_macros.html.j2), run on ``spans`` (HTML) alone."""
    template = (Path(formgrader_safety.TEMPLATE_BASEDIRS[0]) / "formgrade" / "formgrade_macros.html.j2").read_text()
    script = template[template.index("var course_maths = "):template.index("window.MathJax = {")]
    page = chromium.new_page()
    try:
        page.set_content(f"<body>{spans}</body>")
        page.add_script_tag(content=script)
        return page.evaluate("""() => [course_maths_to_typeset().map(span => span.id),
            Object.fromEntries([...document.querySelectorAll('span.tex-source')]
                .filter(span => span.title).map(span => [span.id, span.title]))]""")
    finally:
        page.close()


def tex_span(name, tex):
    return f'<span class="tex-source" id="{name}">{html.escape(tex, quote=False)}</span>'


def test_which_tex_does_the_formgrader_give_mathjax(chromium):
    """Each formula on its own merits: at most 1,000 characters, 50 groups (braces, \\left,
    \\begin) deep, no macro defined; escaped braces are no groups."""
    chosen, refused = maths_chosen(chromium, "".join([
        tex_span("ordinary", r"$$\left( \frac{a}{b} \right)^2 \begin{matrix} a \\ b \end{matrix}$$"),
        tex_span("longest", "$" + "x" * 998 + "$"), tex_span("too-long", "$" + "x" * 999 + "$"),
        tex_span("deepest", "$" + "{" * 50 + "x" + "}" * 50 + "$"),
        tex_span("too-deep", "$" + "{" * 51 + "x" + "}" * 51 + "$"),
        tex_span("too-many-lefts", "$" + r"\left(" * 51 + "x" + r"\right)" * 51 + "$"),
        tex_span("too-many-begins", "$" + r"\begin{a}" * 51 + "x" + r"\end{a}" * 51 + "$"),
        tex_span("escaped-braces", "$" + r"\{" * 60 + "x" + r"\}" * 60 + "$"),
        tex_span("closes-first", "$" + "}" * 30 + r"\right)" * 30 + "{" * 51 + "x" + "}" * 51 + "$"),
        tex_span("def", r"$\def\a{b}\a$"), tex_span("newcommand", r"$\newcommand{\R}{\mathbb{R}}\R$"),
        tex_span("require", r"$\require{cancel}\cancel{x}$"), tex_span("let", r"$\let\a=b$"),
        tex_span("left-is-not-let", r"$\left. x \right|$"),
        '<span class="tex-source" id="not-text"><b>$x$</b></span>']))
    assert chosen == ["ordinary", "longest", "deepest", "escaped-braces", "left-is-not-let"]
    assert refused == {"too-long": "Not typeset: longer than 1000 characters.",
                       "not-text": "Not typeset: it is not text.",
                       **{name: "Not typeset: nested more than 50 groups deep."
                          for name in ("too-deep", "too-many-lefts", "too-many-begins", "closes-first")},
                       **{name: "Not typeset: it defines macros." for name in ("def", "newcommand", "require", "let")}}


def test_how_much_tex_does_the_formgrader_give_mathjax_in_all(chromium):
    """A page gives MathJax at most 200 formulas and 10,000 characters; the rest stays as TeX."""
    past = "Not typeset: the page typesets at most 200 formulas and 10000 characters."
    chosen, refused = maths_chosen(chromium, "".join(tex_span(f"f{i}", f"$x_{{{i:03}}}$") for i in range(250)))
    assert chosen == [f"f{i}" for i in range(200)] and refused == {f"f{i}": past for i in range(200, 250)}
    chosen, refused = maths_chosen(chromium, "".join(tex_span(f"f{i}", "$" + "x" * 998 + "$") for i in range(12)))
    assert chosen == [f"f{i}" for i in range(10)] and refused == {"f10": past, "f11": past}


def test_can_the_instructor_still_grade_on_that_page(formgrader_visit):
    _, shown = formgrader_visit
    assert shown["grades"] == shown["scores"] == 5  # a01's five graded tests, each with its score input


def test_does_student_markup_stay_within_its_cell_on_the_formgrader_page(chromium, formgrader_page, submission_url):
    """Bootstrap's classes made a student's element a white sheet over the whole formgrader (its
    cells and score boxes out of reach) or a "Next submission" bar over its navigation, to the
    student's site; a negative margin drew over the page too (hostile_html.OVERLAYS)."""
    html, _ = formgrader_page
    assert html_safety.CONTAINED_STYLE in html
    assert not re.search(r'class="[^"]*\b(modal|navbar-fixed-top)\b[^"]*"[^>]*>[^<]*' + hostile_html.COVER, html)

    def drawn(page):
        navigation = page.evaluate("""() => {
            const next = document.querySelector('nav.navbar li.next a');
            const box = next.getBoundingClientRect();
            return next.contains(document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2));
        }""")
        return navigation, browser.drawn_outside_cells(page, hostile_html.COVER)
    login = submission_url.split("/formgrader/")[0] + f"/?token={TOKEN}"
    _, (navigation, drawn) = browser.visit(chromium, submission_url, settle_ms=1500, check=drawn, login=login)
    assert navigation, "the formgrader's 'next' link is not on top where it is drawn"
    assert drawn["escapes"] == [], drawn
    assert drawn["marked"] == len(hostile_html.OVERLAYS) + 2 and drawn["drawn_inside"] >= len(hostile_html.OVERLAYS)


def test_does_the_formgrader_show_html_nested_too_deep_as_text(formgrader_page):
    """A markdown cell of 60,000 nested definition lists: the sanitiser's parser took about a
    minute on it, with the instructor's Jupyter server waiting; shown as text, never parsed."""
    html, _ = formgrader_page
    assert html.count('class="course-shown-as-text"') == 1 and "&lt;dd&gt;&lt;dl&gt;" * 100 in html
    # ... its 100,000 characters in blocks (autograder/pages/text_blocks.py), with their style
    assert text_blocks.STYLE in html
    assert re.search(f'class="course-shown-as-text"><span class="{text_blocks.LINE}"><em>', html)


def test_does_the_formgrader_show_a_code_block_for_a_slow_lexer_as_text(formgrader_page):
    """200 characters in a markdown code block that names Pygments' mcschema lexer: the page did
    not come within 90 s before (Pygments alone was still at it after 60 s); code blocks are
    never coloured now."""
    html, _ = formgrader_page
    assert '<pre><code class="language-mcschema">' + "&lt;!--" * 50 in html


def test_are_a_submissions_files_served_sandboxed(formgrader_page, submission_url):
    _, headers = fetch(f"{submission_url}{ASSIGNMENT}.ipynb?token={TOKEN}")
    assert any(policy.startswith("sandbox") for policy in headers.get_all("Content-Security-Policy"))


def test_do_jupyterlabs_pages_load_nothing_from_elsewhere(formgrader):
    """JupyterLab's and the notebook's pages keep Jupyter's own policy and get the course's."""
    for page in ("lab", f"notebooks/release/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", "tree"):
        html, headers = fetch(f"{formgrader}/{page}?token={TOKEN}")
        assert "jupyter-config-data" in html
        policies = headers.get_all("Content-Security-Policy")
        assert len(policies) == 2 and policies[0].startswith("frame-ancestors 'self'; report-uri")
        assert policies[1] == formgrader_safety.server_policy("/", formgrader.split("//")[1])
        assert headers["X-DNS-Prefetch-Control"] == "off"
    assert "sandbox" not in policies[1]
    for directive in ("img-src 'self' data: blob:", "media-src 'self' data: blob:", "font-src 'self' data:",
                      "style-src 'self' 'unsafe-inline'", "object-src blob:", "frame-ancestors 'self'",
                      f"connect-src 'self' ws://{formgrader.split('//')[1]} wss://{formgrader.split('//')[1]}"):
        assert directive in policies[1].split("; ")


def test_which_websockets_does_the_policy_allow():
    """Only this server's, from the host the browser asked for; a host header that is no host
    name adds none."""
    assert "connect-src 'self' ws://[::1]:8888 wss://[::1]:8888;" in formgrader_safety.server_policy("/", "[::1]:8888")
    assert "connect-src 'self' ws://hub.example wss://hub.example;" in formgrader_safety.server_policy("/", "hub.example")
    for host in ("evil; script-src *", "a b", "", None, "*", "x.example:80 https:"):
        assert "connect-src 'self';" in formgrader_safety.server_policy("/", host)
    assert formgrader_safety.server_policy("/user/t/", "h").endswith("report-uri /user/t/api/security/csp-report")


@pytest.mark.parametrize("opened", ["lab/tree", "notebooks/."])
def test_does_a_live_notebook_load_nothing_from_a_students_server(formgrader, beacon, chromium, opened):
    """The formgrader's "Open live notebook" (``/notebooks/./autograded/...``), or the same
    notebook in JupyterLab: its markdown and outputs render, its kernel starts, and the student's
    server gets no request (before, one for each of its images: when, and from where, the
    instructor read the notebook). The browser reports the blocked images, and nothing else."""
    def shown(page):
        page.locator(".jp-RenderedMarkdown", has_text="My notes").wait_for(timeout=120_000)
        # The kernel's status, "idle" once its websocket is connected.
        page.locator(".jp-Notebook-ExecutionIndicator[data-status=idle]").first.wait_for(timeout=120_000)
        page.wait_for_timeout(2000)  # the images' time to load, or not
        return page.evaluate("""beacon => {
            const notes = [...document.querySelectorAll('.jp-MarkdownCell')]
                .find(cell => cell.textContent.includes('My notes'));
            const images = [...document.querySelectorAll('img')];
            return {cells: document.querySelectorAll('.jp-Notebook .jp-Cell').length,
                    notes: notes.querySelectorAll('img').length,
                    embedded: images.filter(i => i.src.startsWith('data:image/png') && i.naturalWidth === 8).length,
                    maths: document.querySelectorAll('.jp-RenderedMarkdown mjx-container').length,
                    remote: images.filter(i => i.src.startsWith(beacon)).map(i => i.naturalWidth)};
        }""", beacon.url)

    notebook = f"{formgrader}/{opened}/autograded/{REMOTE_STUDENT}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    seen, rendered = browser.visit(chromium, notebook, settle_ms=0, check=shown, login=f"{formgrader}/lab?token={TOKEN}")
    assert beacon.requests == []
    assert rendered["cells"] > 20 and rendered["maths"] > 5 and rendered["notes"] == 2
    assert rendered["embedded"] == 1  # the kernel's PNG, in the notebook
    assert rendered["remote"] == [0, 0, 0]  # the student's images are there, not loaded
    violations = [error for error in seen.console_errors if "Content Security Policy" in error]
    assert violations and all(beacon.url in error for error in violations), seen.console_errors
    assert seen.dialogs == []
    if opened == "lab/tree":  # the notebook's page has an error of its own, with or without the policy
        assert seen.page_errors == [] and seen.console_errors == violations


@pytest.mark.parametrize("page", ["manage_students/{}", "manage_students/{}/a01_santa_logreg"])
def test_does_the_formgrader_write_a_student_id_from_a_link_as_text(formgrader, page):
    """nbgrader's formgrader pages write the student id of their URL into their HTML and a script:
    a link to one whose id is markup (sent to the instructor, or a folder in submitted/ that the
    student list shows) ran a script in the instructor's session. The course's server extension
    has nbgrader's templates escape what they write."""
    from urllib.parse import quote

    hostile = '"</script><script>alert(1)</script><img src=x onerror="alert(2)'
    html, _ = fetch(f"{formgrader}/formgrader/{page.format(quote(hostile, safe=''))}?token={TOKEN}")
    assert "<script>alert(1)" not in html and "<img src=x" not in html, html[:3000]
    assert "&lt;img src=x onerror=&#34;alert(2)" in html  # shown as text
    ordinary, _ = fetch(f"{formgrader}/formgrader/{page.format('ghost-blank')}?token={TOKEN}")
    assert 'var student_id = "ghost-blank";' in ordinary  # the page's script still gets its id

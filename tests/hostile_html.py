"""Hostile HTML a student can put in a notebook, one form per cell, and what must still show.

Each payload, if it ran, would record its form's name in ``window.__pwned``, change the page's
title to ``pwned``, open a dialog or navigate the page away. The same outputs exist twice: made
(``OUTPUTS``, for exporter-level tests) and as the code that makes them in a real kernel
(:func:`output_code`, for the harness).
"""
import base64
import struct
import zlib

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

TITLE = "pwned"


def run(name):
    """JavaScript that records ``name``, retitles the page and opens a dialog."""
    return f"window.__pwned=(window.__pwned||[]).concat(['{name}']);document.title='{TITLE}';alert('{name}')"


def _png(width=8, height=8, rgb=(200, 30, 30)):
    """A small solid PNG, base64, made here (no file, no library)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode("ascii")


PNG = _png()

# Markdown cells (markdown may hold any HTML): form name -> source.
MARKDOWN = {
    "md-script": f"Text before. <script>{run('md-script')}</script> Text after.",
    "md-img-onerror": f'<img src="x" onerror="{run("md-img-onerror")}">',
    "md-svg-script": f'<svg onload="{run("md-svg-onload")}"><script>{run("md-svg-script")}</script></svg>',
    "md-javascript-links": (f"[markdown link](javascript:{run('md-markdown-link')}) "
                            f'<a href="javascript:{run("md-href")}">html link</a> '
                            f'<a href="files/javascript:{run("md-files-href")}">files link</a> '
                            f'<a href=" JaVaScRiPt:{run("md-mixed-case")}">mixed case</a>'),
    "md-iframe-srcdoc": f'<iframe srcdoc="&lt;script&gt;parent.{run("md-iframe")}&lt;/script&gt;"></iframe>',
    "md-meta-refresh": ('<meta http-equiv="refresh" content="0;url=about:blank#md-meta-refresh">'
                        f'<meta http-equiv="refresh" content="0;url=javascript:{run("md-meta-js")}">'),
    "md-style": ('<style>body { background: url("javascript:alert(1)") } '
                 '* { width: expression(alert(1)) } h1 { display: none }</style>'
                 '<div style="background-image: url(javascript:alert(1)); width: expression(alert(1)); '
                 'position: fixed; top: 0">styled</div>'),
    "md-form": f'<form action="javascript:{run("md-form")}"><button formaction="javascript:1">go</button></form>',
    "md-object-embed": (f'<object data="javascript:{run("md-object")}"></object>'
                        f'<embed src="javascript:{run("md-embed")}">'),
    "md-base": '<base href="https://evil.example/">',
    "md-details-ontoggle": f'<details open ontoggle="{run("md-details")}"><summary>s</summary>d</details>',
    "md-body-onload": f'<body onload="{run("md-body")}">',
    "md-mutation": f'<math><mtext><table><mglyph><style><img src=x onerror="{run("md-mutation")}">',
    "md-tex-injection": "Maths that smuggles HTML: $\\text{</math><img src=x onerror=\"" + run("md-tex") + "\">}$",
    "md-attachment-mime": "![pasted](attachment:evil.png)",
}
ATTACHMENTS = {"md-attachment-mime": {"evil.png": {f'image/png" onerror="{run("md-attachment")}': PNG}}}
RAW = {"raw-html": f'<script>{run("raw-script")}</script><img src=x onerror="{run("raw-img")}">'}

# Outputs of code cells: form name -> (data, metadata).
OUTPUTS = {
    "out-html-script": ({"text/html": f"<script>{run('out-html-script')}</script>", "text/plain": "h"}, {}),
    "out-html-onerror": ({"text/html": f'<img src="x" onerror="{run("out-html-onerror")}">', "text/plain": "h"}, {}),
    "out-html-iframe": ({"text/html": f'<iframe srcdoc="&lt;script&gt;parent.{run("out-iframe")}&lt;/script&gt;">',
                         "text/plain": "h"}, {}),
    "out-javascript": ({"application/javascript": run("out-javascript"), "text/plain": "js"}, {}),
    "out-svg": ({"image/svg+xml": ('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
                                   f'onload="{run("out-svg-onload")}"><script>{run("out-svg-script")}</script>'
                                   '<circle cx="5" cy="5" r="4"/></svg>'), "text/plain": "svg"}, {}),
    "out-markdown": ({"text/markdown": (f'<img src=x onerror="{run("out-markdown")}"> '
                                        f'[l](javascript:{run("out-md-link")})'),
                      "text/plain": "md"}, {}),
    "out-widget": ({"application/vnd.jupyter.widget-view+json": {"model_id": "evil", "version_major": 2,
                                                                 "version_minor": 0}, "text/plain": "widget"}, {}),
    "out-isolated-html": ({"text/html": f"<script>{run('out-isolated')}</script>", "text/plain": "h"},
                          {"text/html": {"isolated": True}}),
    "out-png-metadata": ({"image/png": PNG, "text/plain": "png"},
                         {"image/png": {"width": f"8 onload={run('out-png-width')}"}}),
    "out-latex": ({"text/latex": "$\\text{</math><img src=x onerror=\"" + run("out-latex") + "\">}$",
                   "text/plain": "latex"}, {}),
}

# Markup that runs nothing but would draw over the page's own parts: a class the page's stylesheets
# give a meaning (Bootstrap's .modal, white and fixed over the whole window; .navbar-fixed-top, a bar
# over the formgrader's navigation), a negative margin with allowed properties, and a large font on a
# line of no height. Each holds COVER. As markdown (form name -> source), raw HTML and an output.
COVER = "drawn-over-the-page"
OVERLAYS = {
    "md-modal-class": ('<div class="modal" style="display:block;background-color:white;padding:40px">'
                       f"<h4>a01_santa_logreg (Score: 13.0 / 13.0)</h4>All tests passed. {COVER}</div>"),
    "md-fixed-navbar": ('<a href="https://evil.example/" class="btn btn-primary navbar-fixed-top" '
                        f'style="display:block;height:80px">Next submission {COVER}</a>'),
    "md-negative-margin": ('<div style="display:inline-block;margin-top:-100000px;margin-left:-2000px;width:6000px;'
                           f'height:200000px;background-color:white">{COVER}</div>'),
    "md-tall-glyphs": f'<span style="font-size:3000px;line-height:0;background-color:white">{COVER}</span>',
}
RAW["raw-modal-class"] = OVERLAYS["md-modal-class"]
OUTPUTS["out-modal-class"] = ({"text/html": OVERLAYS["md-modal-class"], "text/plain": "h"}, {})

# What must still show: form name -> markdown, and one legitimate image output.
LEGIT_MARKDOWN = {
    "legit-table": "| size | accuracy |\n|---|---|\n| 64 | 0.71 |\n| 128 | 0.74 |",
    "legit-maths": ("Inline maths $\\hat{y} = \\sigma(w^T x + b)$ and display maths\n\n"
                    "$$J = -\\frac{1}{m}\\sum_{i=1}^{m} y^{(i)} \\log a^{(i)}$$"),
}
LEGIT_IMAGE = ({"image/png": PNG, "text/plain": "<Figure>"}, {"image/png": {"width": 32}})
HOSTILE_FORMS = sorted([*MARKDOWN, *OVERLAYS, *RAW, *OUTPUTS])


def hostile_cells():
    """The catalogue as cells, outputs made: markdown, raw, then code cells with their outputs."""
    cells = []
    for name, source in {**MARKDOWN, **OVERLAYS, **LEGIT_MARKDOWN}.items():
        cell = new_markdown_cell(source, metadata={"tags": [name]})
        if name in ATTACHMENTS:
            cell["attachments"] = ATTACHMENTS[name]
        cells.append(cell)
    cells += [new_raw_cell(source, metadata={"tags": [name]}) for name, source in RAW.items()]
    for name, (data, metadata) in {**OUTPUTS, "legit-image": LEGIT_IMAGE}.items():
        cells.append(new_code_cell(output_code(name), metadata={"tags": [name]}, execution_count=1, outputs=[
            new_output("display_data", data=data, metadata=metadata)]))
    return cells


def output_code(name):
    """Python that makes output ``name`` in a kernel."""
    data, metadata = {**OUTPUTS, "legit-image": LEGIT_IMAGE}[name]
    return f"from IPython.display import display\ndisplay({data!r}, metadata={metadata!r}, raw=True)"


def hostile_notebook():
    """A small notebook of every hostile form (outputs made) and the legitimate content."""
    nb = nbformat.v4.new_notebook(cells=hostile_cells())
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0, "</script><script>": run("nb-widget-state")}}
    return nb


def hostile_submission(release_notebook_path):
    """The released notebook with the catalogue appended, outputs cleared: the kernel makes them."""
    nb = nbformat.read(str(release_notebook_path), as_version=4)
    for cell in hostile_cells():
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        nb.cells.append(cell)
    return nb


# What "inert" means for a parsed page. Attributes that take a URL a browser may load or follow:
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "xlink:href", "background", "poster",
                   "srcdoc", "srcset", "codebase", "cite", "lowsrc", "dynsrc", "manifest"}
_ACTIVE_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "form", "base", "svg",
                "portal", "link", "input", "button", "textarea", "select"}


def active_content(page, own_script=lambda tag: False, own_tag=lambda tag: False):
    """Everything in ``page`` that could run a script, load something or leave the page, as short
    descriptions; ``own_script(tag)``/``own_tag(tag)`` say which script and other tags are the
    page's own (a template's), not a student's."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    found = []
    for tag in soup.find_all(True):
        name, text = tag.name.lower(), str(tag)[:120]
        if name == "script" and not own_script(tag):
            found.append(f"script: {text}")
        if name in _ACTIVE_TAGS and not own_tag(tag):
            found.append(f"{name}: {text}")
        if name == "meta" and tag.get("http-equiv", "").lower() not in ("", "content-security-policy"):
            found.append(f"meta: {text}")
        if name == "style" and ("__pwned" in tag.get_text() or "alert(1)" in tag.get_text()):
            found.append(f"student style element: {text}")
        for attribute, value in tag.attrs.items():
            value = " ".join(value) if isinstance(value, list) else str(value)
            if attribute.lower().startswith("on"):
                found.append(f"{attribute}=: {text}")
            if "__pwned" in value or "alert(" in value:
                found.append(f"payload in {attribute}=: {text}")
            url = "".join(value.split()).lower()
            if attribute.lower() in _URL_ATTRIBUTES and url.startswith(("javascript:", "vbscript:", "data:text")):
                found.append(f"{attribute}={url[:20]}: {text}")
            if attribute.lower() == "style" and ("url(" in url or "expression(" in url):
                found.append(f"style=: {text}")
    return found

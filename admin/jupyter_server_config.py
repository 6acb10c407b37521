"""Jupyter server settings for instructors: the formgrader with the course's protections.

From the course root (the repository root), with the course's environment active:

    jupyter lab --config=admin/jupyter_server_config.py

The formgrader reads ``nbgrader_config.py`` from the folder Jupyter starts in, and that is what
sanitises student HTML on its pages and gives each page a Content-Security-Policy
(autograder/pages/formgrader.py). This file adds:

- ``jupyter_server_mathjax``: MathJax served by this server, so maths renders with no internet
  (pip installs it enabled; named here so it stays so);
- ``autograder.pages.formgrader``: HTTP policy headers on the formgrader's submission pages, and
  ``sandbox`` on the files of a submission that the formgrader serves (an HTML file a student
  handed in opens in an opaque origin, not in your logged-in session), and nbgrader's own
  formgrader pages escaping what their templates write (a student id in a link or a folder name);
- from the same extension, on every page of this server (JupyterLab's, the notebook's, the
  formgrader's), beside Jupyter's own, a Content-Security-Policy that loads nothing from another
  origin (``server_policy`` there): a student's notebook opened live ("Open live notebook" in the
  formgrader) with an image from the student's server in its markdown or outputs no longer has
  your browser fetch it, which told the student when and from where you read their work. The
  images show as broken, the browser's console and this server's log say what was blocked.
  JupyterLab runs as before (it needs eval and inline scripts and styles, allowed from this
  server only); what it would fetch from the internet itself does not load.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the extension lives in the course's autograder/ package

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

c.ServerApp.jpserver_extensions.update({"jupyter_server_mathjax": True,
                                        "autograder.pages.formgrader": True})

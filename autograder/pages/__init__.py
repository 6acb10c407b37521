"""The pages stage: what graded notebooks look like in a browser, safely (feedback, formgrader).

- ``exporter``: nbgrader's feedback pages, with no script and maths as MathML;
- ``html_safety`` and ``mathml``: student HTML sanitised, TeX made MathML, where any page is made;
- ``formgrader``: the formgrader's submission pages under a policy, and a server extension adding
  its headers (``admin/jupyter_server_config.py``);
- ``class_feedback``: the feedback pages of a graded class, in the harness's output folder.
"""

"""The instructor's Jupyter server settings (installed as ~/.jupyter/jupyter_server_config.py by
admin/hub/classhub.py).

First the course's own, ~/course/admin/jupyter_server_config.py: the formgrader with the course's
protections and MathJax served locally (see that file). Then the instructor's nbgrader extensions:
all but the course list (one course), as ``jupyter server extension enable --user`` would set them.
They are here rather than in a jupyter_server_config.json beside this file, which would replace
the course's list of extensions instead of adding to it.
"""
import os

c = get_config()  # noqa: F821 (provided by Jupyter when it loads this file)

course_settings = os.path.join(os.path.expanduser("~"), "course", "admin", "jupyter_server_config.py")
if os.path.exists(course_settings):
    load_subconfig(course_settings)  # noqa: F821

c.ServerApp.jpserver_extensions.update({
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": True,
    "nbgrader.server_extensions.course_list": False,
})

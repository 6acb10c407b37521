"""The instructor's nbgrader configuration (installed as ~/.jupyter/nbgrader_config.py by admin/hub/classhub.py).

It is the course's own configuration (~/course/nbgrader_config.py), wherever nbgrader starts: the
formgrader (started in the home folder), and commands run from any folder. The exchange folder
and the course id come from the environment that the hub gives every server.
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

load_subconfig(os.path.join(os.path.expanduser("~"), "course", "nbgrader_config.py"))  # noqa: F821

"""A student's nbgrader configuration (installed as ~/.jupyter/nbgrader_config.py by admin/hub/classhub.py).

The course and the exchange folder come from the environment that the hub gives every server
(the same variables as the course's own nbgrader_config.py reads).
"""
import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = os.environ.get("NBGRADER_COURSE_ID", "nn-image-classification")
if "NBGRADER_EXCHANGE" in os.environ:
    c.Exchange.root = os.environ["NBGRADER_EXCHANGE"]

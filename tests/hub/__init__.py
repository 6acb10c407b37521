"""Helpers of tests/test_class_hub.py: pages that record what goes wrong on them (pages.py) and the
JupyterLab, nbgrader and formgrader actions of a person using the class hub (lab.py)."""

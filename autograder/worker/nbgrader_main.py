"""``python -m autograder.worker.nbgrader_main ARGS``: nbgrader's command line, without a slow step.

nbgrader opens its gradebook several times per notebook, and each time runs the ``alembic``
command in a new process only to learn the newest migration of its own schema, a constant of
the installed nbgrader (about a second each on a small machine). When ``NBGRADER_ALEMBIC_HEAD``
holds that value (``autograder.worker.nbgrader_cli`` computes it once), it is used instead; everything
else is stock nbgrader.
"""
import os

import nbgrader.api

if os.environ.get("NBGRADER_ALEMBIC_HEAD"):
    nbgrader.api.get_alembic_version = lambda: os.environ["NBGRADER_ALEMBIC_HEAD"]

from nbgrader.apps.nbgraderapp import main  # noqa: E402

if __name__ == "__main__":
    try:
        main()
    finally:
        from autograder.sandbox.zygote import kernels_peak_kib

        kernels_peak_kib(wait=0)  # removes the usage files of kernels forked from the zygote, if any

"""Run nbgrader's command line from Python, with the environment it needs."""
import os
import subprocess
import sys
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent


def nbgrader_env(extra=None):
    """The current environment with this interpreter's scripts first on PATH.

    nbgrader runs the ``alembic`` script by name to open the gradebook, so the virtual
    environment's ``bin/`` must be on PATH even when Python was started by its full path.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


def put_scripts_on_path():
    """Make nbgrader's gradebook usable in this process too (it runs ``alembic`` by name)."""
    os.environ["PATH"] = nbgrader_env()["PATH"]


def run_nbgrader(*args, cwd=COURSE_ROOT, timeout=None, env=None):
    """``nbgrader ARGS`` in the course directory; returns the CompletedProcess (never raises on exit code)."""
    command = [sys.executable, "-m", "nbgrader", *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=nbgrader_env(env))

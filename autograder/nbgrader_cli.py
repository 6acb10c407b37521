"""Run nbgrader's command line from Python, with the environment it needs."""
import functools
import os
import subprocess
import sys
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent


NBGRADER = [sys.executable, "-m", "autograder.nbgrader_main"]  # nbgrader's CLI, see that module


def _scripts_path():
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def nbgrader_env(extra=None):
    """The environment for nbgrader commands: this interpreter's scripts first on PATH (nbgrader
    runs ``alembic`` by name), the course importable, and the gradebook schema head known."""
    env = dict(os.environ)
    env["PATH"] = _scripts_path()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(COURSE_ROOT), env.get("PYTHONPATH")]))
    env["NBGRADER_ALEMBIC_HEAD"] = alembic_head()
    env.update(extra or {})
    return env


@functools.lru_cache(maxsize=None)
def alembic_head():
    """The newest migration of nbgrader's gradebook schema, asked of ``alembic`` once."""
    import nbgrader.api

    os.environ["PATH"] = _scripts_path()
    original = getattr(nbgrader.api.get_alembic_version, "__wrapped__", nbgrader.api.get_alembic_version)
    return original()


def put_scripts_on_path():
    """Make nbgrader's gradebook quick to open in this process too (see nbgrader_main)."""
    import nbgrader.api

    head = alembic_head()
    os.environ["PATH"] = _scripts_path()

    def get_alembic_version():
        return head
    get_alembic_version.__wrapped__ = nbgrader.api.get_alembic_version
    if not hasattr(nbgrader.api.get_alembic_version, "__wrapped__"):
        nbgrader.api.get_alembic_version = get_alembic_version


def run_nbgrader(*args, cwd=COURSE_ROOT, timeout=None, env=None):
    """``nbgrader ARGS`` in the course directory; returns the CompletedProcess (never raises on exit code)."""
    command = [*NBGRADER, *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=nbgrader_env(env))

"""Run nbgrader's command line from Python, with the environment it needs."""
import ast
import functools
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parents[2]


NBGRADER = [sys.executable, "-m", "autograder.worker.nbgrader_main"]  # nbgrader's CLI, see that module
# The environment variable that tells nbgrader's process (nbgrader_main) which gradebook, by its
# URL, is one of the grader's scratch: written without waiting for the disk.
SCRATCH_GRADEBOOK = "AUTOGRADER_SCRATCH_GRADEBOOK"


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


def head_of_revisions(folder):
    """The one revision of the alembic scripts in ``folder`` that no other revision follows, read
    from their ``revision = '...'`` and ``down_revision = ...`` lines; None when the scripts do not
    say it plainly (several heads, a merge, a value computed at run time)."""
    revisions, followed = set(), set()
    for script in Path(folder).glob("*.py"):
        values = {}
        for node in ast.parse(script.read_text(encoding="utf-8")).body:
            if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id in ("revision", "down_revision")):
                try:
                    values[node.targets[0].id] = ast.literal_eval(node.value)
                except ValueError:
                    return None
        if not isinstance(values.get("revision"), str) or not isinstance(values.get("down_revision", ""),
                                                                          (str, type(None))):
            return None
        revisions.add(values["revision"])
        followed.add(values.get("down_revision"))
    heads = revisions - followed
    return heads.pop() if len(heads) == 1 else None


@functools.lru_cache(maxsize=None)
def alembic_head():
    """The newest migration of nbgrader's gradebook schema: read from nbgrader's migration
    scripts (no nbgrader import, no process), else asked of ``alembic`` as nbgrader does."""
    spec = importlib.util.find_spec("nbgrader")
    if spec is not None and spec.origin:
        head = head_of_revisions(Path(spec.origin).parent / "alembic" / "versions")
        if head:
            return head
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


def configure_course(folder, course_root=COURSE_ROOT):
    """Make ``folder`` a course directory whose nbgrader configuration is ``course_root``'s, with
    ``folder`` as its root (a worker's scratch course, a test's course)."""
    (Path(folder) / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"load_subconfig({str(Path(course_root) / 'nbgrader_config.py')!r})  # noqa: F821\n"
        f"c.CourseDirectory.root = {str(folder)!r}\n", encoding="utf-8")


def run_nbgrader(*args, cwd=COURSE_ROOT, timeout=None, env=None):
    """``nbgrader ARGS`` in the course directory; returns the CompletedProcess (never raises on exit code)."""
    command = [*NBGRADER, *map(str, args)]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env=nbgrader_env(env))

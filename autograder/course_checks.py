"""An assignment's tests as the grader runs them: its visible tests, its hidden checks and the
shared check helpers, read from the assignment's room (``assignments/<id>/``), never from a copy
a student could have changed.

Each test cell gets the three modules afresh, so that no test leaves state behind for the next;
only their compiled code is kept, for as long as a file's text stays the same. Inside them, and
inside the test cell, ``import check_helpers``, ``import problem_unittests`` and
``import hidden_checks`` give these fresh modules; any other import is Python's own.
"""
import builtins
import types
from pathlib import Path

from .course import COURSE_ROOT, rooms_folder

SHARED = "check_helpers"
VISIBLE = "problem_unittests"
HIDDEN = "hidden_checks"
_compiled = {}  # path -> (text, code)


def module_files(assignment, root=COURSE_ROOT):
    """{module name: path} of the assignment's test modules, in the order they load."""
    rooms = rooms_folder(root)
    return {SHARED: rooms / f"{SHARED}.py", VISIBLE: rooms / assignment / f"{VISIBLE}.py",
            HIDDEN: rooms / assignment / f"{HIDDEN}.py"}


def _code(path):
    text = Path(path).read_bytes()
    cached = _compiled.get(path)
    if cached is None or cached[0] != text:
        cached = _compiled[path] = (text, compile(text, str(path), "exec"))
    return cached[1]


def compiled_text(path):
    """The text of the file at ``path`` that its module was last made from by :func:`load`;
    None where none was."""
    cached = _compiled.get(Path(path))
    return cached[0].decode("utf-8") if cached is not None else None


def builtins_serving(modules):
    """Python's builtins, with ``import`` serving ``modules`` ({name: module}) by name."""
    def course_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and name in modules:
            return modules[name]
        return builtins.__import__(name, globals, locals, fromlist, level)

    return {**vars(builtins), "__import__": course_import}


def load(assignment, root=COURSE_ROOT):
    """Fresh modules {name: module} of the assignment's tests (see the module's docstring)."""
    modules = {}
    served = builtins_serving(modules)
    for name, path in module_files(assignment, root).items():
        module = types.ModuleType(name)
        module.__file__ = str(path)
        module.__builtins__ = served
        exec(_code(path), module.__dict__)  # noqa: S102 - the course's own tests
        modules[name] = module
    return modules


def cell_namespace(assignment, root=COURSE_ROOT, modules=None, **names):
    """A namespace to run one of the assignment's test cells in: ``tests`` is its visible tests,
    ``import hidden_checks`` its hidden checks (``modules``, or freshly loaded ones), and
    ``names`` stand for the notebook's objects."""
    modules = modules or load(assignment, root)
    return {"__name__": "__test_cell__", "__builtins__": builtins_serving(modules),
            "tests": modules[VISIBLE], **names}

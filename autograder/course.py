"""The course's assignments, as their manifests declare them.

Each assignment has a room of its own, ``assignments/<id>/``, with the files written for it by
hand (the notebook itself is ``source/<id>/<id>.ipynb``):

- ``manifest.toml``: what the build, the harness, the demo and the tests read about it;
- ``problem_unittests.py``: its visible tests (students receive a copy);
- ``hidden_checks.py``: its hidden tests and the reference answers they use (the grader's only);
- ``mistakes.py``: its catalogue of typical student mistakes.

The build writes ``expected_outputs.json`` there too (the visible tests' stored values). Every
part of the project finds the assignments here; nothing else keeps a list of them.
"""
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

COURSE_ROOT = Path(__file__).resolve().parent.parent
ROOMS = "assignments"
MANIFEST = "manifest.toml"
EXPECTED_OUTPUTS = "expected_outputs.json"  # written by the build beside problem_unittests.py
BLANK = "blank"  # a demo student who hands in the notebook as released


class ManifestError(ValueError):
    """A manifest that cannot be read, with the file and the reason."""


@dataclass(frozen=True)
class Assignment:
    id: str
    room: Path
    summary: str
    keras: bool                 # the notebook uses Keras (grading preloads it once per class)
    graded_functions: tuple     # in notebook order
    written_answers: tuple      # markdown answer cells graded by hand
    fewest_mistakes: int        # catalogued mistakes each graded function needs at least
    secrets: tuple              # expected values no failure message may print
    demo_class: dict            # student id -> None (blank) or {graded function: mistake name}
    shown_message: tuple        # (student id, text): a message that student's feedback shows
    grading_data: tuple = ()    # (loader, arguments): the data loads of a grading-mode run
    figures: bool = False       # the notebook shows figures with coursekit.plotting (recorded once per class)


def rooms_folder(root=COURSE_ROOT):
    return Path(root) / ROOMS


def assignment_ids(root=COURSE_ROOT):
    """Every assignment with a manifest, sorted by id."""
    return tuple(sorted(path.parent.name for path in rooms_folder(root).glob(f"*/{MANIFEST}")))


KINDS = {dict: "a table", list: "a list", str: "a string", bool: "true or false", int: "a whole number"}


def _required(data, path, key, kind):
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ManifestError(f"{path}: '{key}' should be {KINDS[kind]}, got {value!r}")
    return value


@functools.lru_cache(maxsize=None)
def _load(assignment, root):
    room = rooms_folder(root) / assignment
    path = room / MANIFEST
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ManifestError(f"unknown assignment {assignment!r}: no {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ManifestError(f"{path}: {error}") from None
    summary = _required(data, path, "summary", str)
    keras = _required(data, path, "keras", bool)
    figures = data.get("figures", False)
    if not isinstance(figures, bool):
        raise ManifestError(f"{path}: 'figures' should be {KINDS[bool]}, got {figures!r}")
    functions = tuple(_required(data, path, "graded_functions", list))
    written = tuple(_required(data, path, "written_answers", list))
    catalogue = _required(data, path, "catalogue", dict)
    demo = _required(data, path, "demo", dict)
    demo_class = {}
    for student, answers in _required(demo, path, "class", dict).items():
        if answers == BLANK:
            demo_class[student] = None
        elif isinstance(answers, dict):
            demo_class[student] = dict(answers)
        else:
            raise ManifestError(f"{path}: demo student {student!r} should be {BLANK!r} or a table of "
                                f"graded function = mistake, got {answers!r}")
    shown = _required(demo, path, "shown_message", dict)
    for student, answers in demo_class.items():
        unknown = sorted(set(answers or ()) - set(functions))
        if unknown:
            raise ManifestError(f"{path}: demo student {student!r} names {unknown}, not graded functions")
    grading_data = []
    for call in data.get("grading_data", []):
        if not (isinstance(call, dict) and isinstance(call.get("loader"), str)
                and isinstance(call.get("arguments", []), list)):
            raise ManifestError(f"{path}: each grading_data entry should be {{ loader = \"load_...\", "
                                f"arguments = [...] }}, got {call!r}")
        grading_data.append((call["loader"], tuple(call.get("arguments", []))))
    return Assignment(
        grading_data=tuple(grading_data), figures=figures,
        id=assignment, room=room, summary=summary, keras=keras, graded_functions=functions,
        written_answers=written,
        fewest_mistakes=_required(catalogue, path, "fewest_mistakes", int),
        secrets=tuple(_required(catalogue, path, "secrets", list)),
        demo_class=demo_class, shown_message=(shown.get("student"), shown.get("text")))


def load(assignment, root=COURSE_ROOT):
    """The assignment ``assignment`` as its manifest declares it; :class:`ManifestError` if it
    has none or it cannot be read."""
    return _load(assignment, Path(root).resolve())

"""Is everything generated and committed up to date, clean, and free of answers?"""
import re

import nbformat
import pytest

from autograder import course
import build
import notebook_hygiene
from conftest import ASSIGNMENTS

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_vendored_copies_are_identical_to_their_originals(assignment):
    assert build.stale_vendored_copies(assignment) == []


def test_a_vendored_copy_edited_by_hand_is_detected(course_root, tmp_path, monkeypatch):
    copy = course_root / "source" / ASSIGNMENTS[0] / "problem_unittests.py"
    original = copy.read_text()
    try:
        copy.write_text(original + "\n# edited by hand\n")
        assert f"source/{ASSIGNMENTS[0]}/problem_unittests.py" in build.stale_vendored_copies(ASSIGNMENTS[0])
    finally:
        copy.write_text(original)


def test_stored_values_edited_by_hand_are_detected(course_root):
    stored = course.load(ASSIGNMENTS[0]).room / course.EXPECTED_OUTPUTS
    original = stored.read_text()
    try:
        stored.write_text(original.replace("0.9061964146968811", "0.9061974146968811"))  # 1e-6 away
        assert any(str(stored.relative_to(course_root)) in line for line in build.stale_vendored_copies(ASSIGNMENTS[0]))
    finally:
        stored.write_text(original)


def test_floats_that_differ_in_their_last_bits_only_are_the_same_values():
    """Another CPU may compute a float's last bits otherwise: the committed values still stand."""
    assert build.same_values({"dw": [[0.9061964146968811], [0.015384000000000064]], "n": 3},
                             {"dw": [[0.9061964146968812], [0.015383999999999953]], "n": 3})
    assert not build.same_values({"dw": [[0.9061964146968811]]}, {"dw": [[0.9061974146968811]]})
    assert not build.same_values({"n": 3}, {"n": 3.0}) and not build.same_values({"n": 3}, {"m": 3})
    assert not build.same_values({"shape": [2, 3]}, {"shape": [2, 3, 1]})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_students_receive_only_their_assignments_tests_and_no_hidden_check(course_root, assignment):
    release = course_root / "release" / assignment
    names = sorted(p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file())
    assert [n for n in names if not n.startswith("coursekit/")] == sorted(
        [f"{assignment}.ipynb", "check_helpers.py", "custom.css", "expected_outputs.json", "problem_unittests.py"])
    visible = (release / "problem_unittests.py").read_text()
    for other in ASSIGNMENTS:
        if other != assignment:
            assert not set(course.load(other).graded_functions) & set(
                name for name in course.load(other).graded_functions if f"def test_{name}(" in visible)
    for path in release.rglob("*.py"):
        assert "def reference_" not in path.read_text(), path
    assert (course_root / "source" / assignment / "hidden_checks.py").is_file()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_is_what_nbgrader_generates_from_source(assignment):
    assert build.stale_release_files(assignment) == []


def committed_notebooks(course_root):
    return sorted(course_root.glob("source/*/*.ipynb")) + sorted(course_root.glob("release/*/*.ipynb"))


def test_committed_notebooks_have_no_outputs_counts_or_answers_and_unique_ids(course_root):
    notebooks = committed_notebooks(course_root)
    assert len(notebooks) == 2 * len(ASSIGNMENTS)
    problems = [line for path in notebooks
                for line in notebook_hygiene.problems(path, released="release" in path.parts)]
    assert problems == []


def test_hygiene_check_finds_outputs_markers_and_repeated_ids(tmp_path):
    cell = nbformat.v4.new_code_cell("x = 1  ### BEGIN SOLUTION", execution_count=3,
                                     outputs=[nbformat.v4.new_output("stream", text="1")])
    cell.metadata["nbgrader"] = {"grade_id": "same"}
    twin = nbformat.v4.new_code_cell("y = 2")
    twin.metadata["nbgrader"] = {"grade_id": "same"}
    path = tmp_path / "release" / "bad.ipynb"
    path.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[cell, twin]), str(path))
    found = "\n".join(notebook_hygiene.problems(path, released=True))
    assert "has outputs" in found and "execution count" in found
    assert "BEGIN SOLUTION" in found and "'same' is used 2 times" in found


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_source_notebook_defines_the_graded_functions_of_its_manifest(course_root, assignment):
    notebook = nbformat.read(str(course_root / "source" / assignment / f"{assignment}.ipynb"), 4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    solutions = [c.metadata["nbgrader"]["grade_id"] for c in code if c.metadata.get("nbgrader", {}).get("solution")]
    tests = [c.metadata["nbgrader"]["grade_id"] for c in code if c.metadata.get("nbgrader", {}).get("grade")]
    manifest = course.load(assignment)
    assert solutions == list(manifest.graded_functions)
    assert tests == [f"test_{name}" for name in manifest.graded_functions]
    for cell in code:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            assert "BEGIN HIDDEN TESTS" in cell.source, f"{cell.metadata['nbgrader']['grade_id']} has no hidden tests"
    # Keras is preloaded for grading where the manifest says the notebook uses it: it must agree.
    imports_keras = any(re.search(r"^\s*(import|from)\s+keras\b", cell.source, re.M) for cell in code)
    assert manifest.keras == imports_keras
    # The reference's figures are recorded for grading where the manifest says the notebook shows some.
    shows_figures = any(re.search(r"\bplotting\.(show_images|plot_costs|plot_history|plot_confusion)\(", cell.source)
                        for cell in code)
    assert manifest.figures == shows_figures
    written = [c for c in notebook.cells if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")]
    assert [c.metadata["nbgrader"]["grade_id"] for c in written] == list(manifest.written_answers)
    for cell in written:
        meta = cell.metadata["nbgrader"]
        assert meta["solution"] and meta["points"] > 0
        # The model answer and the rubric sit in the solution region, which the release replaces.
        assert cell.source.startswith("### BEGIN SOLUTION") and "**Rubric" in cell.source
    # Each answer cell follows the markdown cell that asks its question, numbered in order.
    for number, cell in enumerate(written, start=1):
        before = notebook.cells[notebook.cells.index(cell) - 1]
        asked = re.findall(r"\*\*Question (\d+)\.\*\*", before.source) if before.cell_type == "markdown" else []
        assert asked == [str(number)], (f"{cell.metadata['nbgrader']['grade_id']} should follow the cell that asks "
                                        f"**Question {number}.**; the cell before it asks {asked or 'nothing'}")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_rooms_test_modules_and_catalogue_cover_the_manifests_functions(assignment):
    from autograder import course_checks
    from known_submissions.ghosts import mistakes_of

    modules = course_checks.load(assignment)
    for name in course.load(assignment).graded_functions:
        assert callable(getattr(modules[course_checks.VISIBLE], f"test_{name}", None)), name
        assert callable(getattr(modules[course_checks.HIDDEN], f"test_{name}", None)), name
    assert sorted(mistakes_of(assignment).MISTAKES) == sorted(course.load(assignment).graded_functions)


def test_the_readme_lists_every_assignment_as_its_manifest_describes_it(course_root):
    readme = (course_root / "README.md").read_text()
    for assignment in ASSIGNMENTS:
        assert f"| `{assignment}` | {course.load(assignment).summary} |" in readme, assignment


def test_the_readme_counts_the_boundary_catalogue_as_it_is(course_root):
    from known_submissions.boundary import CASES

    said = re.findall(r"catalogues\s+(\d+) such submissions", (course_root / "README.md").read_text())
    assert said == [str(len(CASES))], f"README says {said}, known_submissions/boundary.py has {len(CASES)} cases"


def test_a_broken_manifest_is_a_clear_error(tmp_path):
    room = tmp_path / "assignments" / "a09_broken"
    room.mkdir(parents=True)
    (room / "manifest.toml").write_text('summary = "x"\nkeras = "no"\n[catalogue]\n[demo]\n')
    with pytest.raises(course.ManifestError, match="'keras' should be true or false"):
        course.load("a09_broken", tmp_path)
    with pytest.raises(course.ManifestError, match="unknown assignment 'a10_missing'"):
        course.load("a10_missing", tmp_path)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_first_cell_tells_students_how_to_check_their_work(course_root, assignment):
    """Cell by cell or nbgrader's Validate button; Run All stops at the first unwritten function."""
    notebook = nbformat.read(str(course_root / "release" / assignment / f"{assignment}.ipynb"), as_version=4)
    first = notebook.cells[0]
    assert first.cell_type == "markdown"
    text = " ".join(first.source.split())
    for phrase in ("cell by cell", "Validate", "Run All", "NotImplementedError"):
        assert phrase in text, f"{assignment}: the first cell does not mention {phrase}"

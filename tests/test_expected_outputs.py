"""Do the notebooks' "Expected output" tables say what the reference solutions print?

An Expected output cell is a markdown cell that starts with ``**Expected output**`` and holds a
table ``| quantity | value |``. Each quantity is printed by the code cell just above it, as a line
``quantity: value``. A value written ``≈ value`` is approximate, within :data:`TOLERANCE`; any
other value must be printed exactly as written.

A table whose first line says "full run" states figures of the full experiment (what a student
gets): it is checked against a run of the source notebook without grading mode. A table whose
first line says "grading mode" states figures of the graded run; every other table (the examples
of the graded functions, which are the same in both modes) is checked against the graded run too,
which is quick.
"""
import re

import nbformat
import pytest

from conftest import ASSIGNMENTS, ROOT
import notebook_runs
from notebook_runs import source_run

# How far an approximate value (written "≈ value") may be from what the reference prints: accuracies
# (values in %) by 1.5 points, every other number by a relative 1e-3 (and 1e-6 near zero).
TOLERANCE = {"points": 1.5, "relative": 1e-3, "absolute": 1e-6}
APPROXIMATE = "≈"
HEADING = "**Expected output**"
FULL, GRADING = "full run", "grading mode"
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

# The assignments where every graded function's example is followed by a table.
EVERY_FUNCTION_SHOWN = ("a01_santa_logreg", "a02_cat_dnn", "a04_knn_mlp_transfer")


def source_notebook(assignment):
    return nbformat.read(str(ROOT / "source" / assignment / f"{assignment}.ipynb"), as_version=4)


def mode_of(text):
    """The run a table's figures come from: FULL, GRADING, or GRADING for mode-free examples."""
    first = text.splitlines()[0].lower()
    return FULL if FULL in first or "full mode" in first else GRADING


def table_rows(text):
    """[(quantity, value)] of the table of an Expected output cell (header and rule left out)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.endswith("|")):
            continue
        cells = [c.strip() for c in line[1:-1].split("|")]
        if len(cells) != 2:
            raise ValueError(f"a row of two columns expected, got {line!r}")
        if cells == ["quantity", "value"] or set("".join(cells)) <= set("-: "):
            continue
        rows.append((cells[0].strip("`"), cells[1]))
    return rows


def tables(notebook):
    """[(index of the Expected output cell, mode, rows)] of a notebook."""
    return [(i, mode_of(cell.source), table_rows(cell.source)) for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "markdown" and cell.source.startswith(HEADING)]


def printed_lines(cell):
    """The lines a code cell printed on stdout (a line may come in several stream outputs)."""
    return "".join(output.get("text", "") for output in cell.get("outputs", [])
                   if output.get("output_type") == "stream" and output.get("name") == "stdout").splitlines()


def printed_value(cell, quantity):
    """What the code cell printed for ``quantity`` (its one line ``quantity: value``)."""
    found = [line[len(quantity) + 2:].strip() for line in printed_lines(cell) if line.startswith(f"{quantity}: ")]
    if len(found) != 1:
        raise LookupError(f"{quantity!r} is printed {len(found)} times, not once")
    return found[0]


def close(stated, got):
    """Whether the printed ``got`` agrees with the approximate ``stated`` value."""
    if NUMBER.sub("#", stated) != NUMBER.sub("#", got):
        return False
    wanted, have = [float(n) for n in NUMBER.findall(stated)], [float(n) for n in NUMBER.findall(got)]
    if "%" in stated:
        return all(abs(w - h) <= TOLERANCE["points"] for w, h in zip(wanted, have))
    return all(abs(w - h) <= max(TOLERANCE["relative"] * abs(w), TOLERANCE["absolute"]) for w, h in zip(wanted, have))


def agrees(stated, got):
    if stated.startswith(APPROXIMATE):
        return close(stated[len(APPROXIMATE):].strip(), got)
    return stated == got


def disagreements(executed, mode):
    """Lines saying where the executed notebook's printing differs from its tables of ``mode``."""
    found = []
    for index, table_mode, rows in tables(executed):
        if table_mode != mode:
            continue
        above = executed.cells[index - 1]
        for quantity, stated in rows:
            try:
                got = printed_value(above, quantity)
            except LookupError as error:
                found.append(f"cell {index}: {error}")
                continue
            if not agrees(stated, got):
                found.append(f"cell {index}: {quantity}: the table says {stated!r}, the reference printed {got!r}")
    return found


def with_tables(mode):
    return [a for a in ASSIGNMENTS if any(m == mode for _, m, _ in tables(source_notebook(a)))]


# --------------------------------------------------------------------------------------------
# The tables themselves (no kernel)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_each_table_follows_a_code_cell_and_names_each_quantity_once(assignment):
    notebook = source_notebook(assignment)
    for index, _, rows in tables(notebook):
        assert notebook.cells[index - 1].cell_type == "code", f"cell {index}: no code cell above the table"
        quantities = [q for q, _ in rows]
        assert quantities and len(set(quantities)) == len(quantities), f"cell {index}: {quantities}"
        for quantity, value in rows:
            assert value and "?" not in value, f"cell {index}: {quantity} has no value"


@pytest.mark.parametrize("assignment", EVERY_FUNCTION_SHOWN)
def test_every_graded_function_is_followed_by_an_example_and_its_table(assignment):
    notebook = source_notebook(assignment)
    solutions = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"
                 and c.metadata.get("nbgrader", {}).get("solution")]
    table_cells = [i for i, _, _ in tables(notebook)]
    for first, after in zip(solutions, solutions[1:] + [len(notebook.cells)]):
        name = notebook.cells[first].metadata["nbgrader"]["grade_id"]
        assert any(first < i < after for i in table_cells), f"{name}: no Expected output table after it"


def test_approximate_values_keep_to_the_stated_tolerance():
    assert agrees("≈ 75.8 %", "76.9 %") and not agrees("≈ 75.8 %", "77.5 %")
    assert agrees("≈ 0.693147", "0.693300") and not agrees("≈ 0.693147", "0.6945")
    assert agrees("≈ [0.5, -0.25]", "[0.5002, -0.25]") and not agrees("≈ [0.5, -0.25]", "[0.5, 0.25]")
    assert not agrees("≈ [0.5, -0.25]", "[0.5]") and not agrees("(3, 1)", "(1, 3)")
    assert agrees("≈ 80.2 ± 1.1 %", "79.5 ± 0.4 %")


# --------------------------------------------------------------------------------------------
# The tables against what the reference prints
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("assignment", with_tables(GRADING))
def test_examples_print_what_their_tables_say_in_grading_mode(assignment, course_root, data_cache):
    executed = source_run(course_root, assignment, notebook_runs.GRADING)
    assert disagreements(executed, GRADING) == []


@pytest.mark.full_mode
@pytest.mark.parametrize("assignment", with_tables(FULL))
def test_full_runs_print_what_their_tables_say(assignment, course_root, data_cache):
    executed = source_run(course_root, assignment, notebook_runs.FULL)
    assert disagreements(executed, FULL) == []

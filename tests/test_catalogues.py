"""Does every graded test cell pass the reference and catch each catalogued mistake, with a message
that says what went wrong and does not give the expected values away?"""
import pytest

from autograder import course
from catalogue_runs import all_mistakes, reference, run_test_cell, graded_cells, with_source
from conftest import ASSIGNMENTS
from known_submissions.ghosts import mistakes_of

CASES = [(a, m) for a in ASSIGNMENTS for m in all_mistakes(a)]


def case_id(case):
    assignment, mistake = case
    return f"{assignment[:3]}-{mistake.function}-{mistake.name}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_enough_catalogued_mistakes(assignment):
    catalogue = mistakes_of(assignment).MISTAKES
    assert sorted(catalogue) == sorted(name[len("test_"):] for name in graded_cells(assignment))
    for function, mistakes in catalogue.items():
        assert len(mistakes) >= course.load(assignment).fewest_mistakes, f"{function}: only {len(mistakes)} mistakes"
        assert len({m.name for m in mistakes}) == len(mistakes)


@pytest.mark.parametrize("assignment, function",
                         [(a, name[len("test_"):]) for a in ASSIGNMENTS for name in graded_cells(a)])
def test_reference_passes_visible_and_hidden_tests(assignment, function):
    printed = run_test_cell(assignment, function, reference(assignment))
    assert f"{function}: visible tests passed." in printed
    assert f"{function}: hidden tests passed." in printed


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_catalogued_mistake_fails_with_a_message_that_names_what_differs(case):
    assignment, mistake = case
    namespace = with_source(reference(assignment), mistake.source, f"<mistake {mistake.name}>")
    with pytest.raises(AssertionError) as failure:
        run_test_cell(assignment, mistake.function, namespace)
    message = str(failure.value)
    assert message.startswith(f"{mistake.function}: "), message
    assert mistake.expect in message, message
    for secret in course.load(assignment).secrets:
        assert secret not in message, message

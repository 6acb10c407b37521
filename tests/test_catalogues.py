"""Does every graded test cell pass the reference and catch each catalogued mistake, with a message
that says what went wrong and does not give the expected values away?"""
import pytest

from catalogue_runs import all_mistakes, reference, run_test_cell, graded_cells, with_source
from conftest import ASSIGNMENTS
from autograder.ghosts.notebooks import mistakes_of

# The fewest catalogued mistakes per graded function that each assignment's issue asks for.
FEWEST_MISTAKES = {"a01_santa_logreg": 5, "a02_cat_dnn": 4, "a03_cnn_mnist_cifar": 4, "a04_knn_mlp_transfer": 4}
# Expected values of visible test cases, which a failure message must not print back.
SECRETS = {
    "a01_santa_logreg": ("-0.4710", "0.4320", "1.5366", "0.4736", "1.9820", "0.4779"),
    "a02_cat_dnn": ("0.05249", "0.01538", "0.45407", "0.24080", "0.09775", "0.3226"),
    "a03_cnn_mnist_cifar": (),
    "a04_knn_mlp_transfer": (),
}
CASES = [(a, m) for a in ASSIGNMENTS for m in all_mistakes(a)]


def case_id(case):
    assignment, mistake = case
    return f"{assignment[:3]}-{mistake.function}-{mistake.name}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_graded_function_has_enough_catalogued_mistakes(assignment):
    catalogue = mistakes_of(assignment).MISTAKES
    assert sorted(catalogue) == sorted(name[len("test_"):] for name in graded_cells(assignment))
    for function, mistakes in catalogue.items():
        assert len(mistakes) >= FEWEST_MISTAKES[assignment], f"{function}: only {len(mistakes)} mistakes"
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
    for secret in SECRETS[assignment]:
        assert secret not in message, message

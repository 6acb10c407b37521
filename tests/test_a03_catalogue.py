"""Do a03's test cells pass the reference and catch every catalogued mistake, with a useful message?

The test cells are read from the source notebook (visible tests and hidden tests together) and
run in a namespace holding the reference solutions, with one function swapped for a mistake.
"""
import contextlib
import io
import warnings

import pytest

from autograder import notebook_cells
from autograder.ghosts.a03_cnn_mnist_cifar import MISTAKES

ASSIGNMENT = "a03_cnn_mnist_cifar"
TEST_CELLS = notebook_cells.cells_by_role(notebook_cells.read(ASSIGNMENT), "test")
ALL_MISTAKES = [m for mistakes in MISTAKES.values() for m in mistakes]


@pytest.fixture(scope="module")
def reference():
    with contextlib.redirect_stdout(io.StringIO()):
        return notebook_cells.reference_namespace(ASSIGNMENT)


def run_test_cell(function, namespace):
    """Run test_<function>'s cell; returns what it printed. Warnings become errors."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), warnings.catch_warnings():
        warnings.simplefilter("error")
        notebook_cells.run_cell(TEST_CELLS[f"test_{function}"], namespace, f"<test_{function}>")
    return printed.getvalue()


def test_every_graded_function_has_at_least_four_catalogued_mistakes():
    assert sorted(MISTAKES) == sorted(name[len("test_"):] for name in TEST_CELLS)
    for function, mistakes in MISTAKES.items():
        assert len(mistakes) >= 4, f"{function}: only {len(mistakes)} mistakes catalogued"
        assert len({m.name for m in mistakes}) == len(mistakes)


@pytest.mark.parametrize("function", sorted(MISTAKES))
def test_reference_passes_visible_and_hidden_tests(reference, function):
    printed = run_test_cell(function, dict(reference))
    assert f"{function}: visible tests passed." in printed
    assert f"{function}: hidden tests passed." in printed


@pytest.mark.parametrize("mistake", ALL_MISTAKES, ids=lambda m: f"{m.function}-{m.name}")
def test_catalogued_mistake_fails_with_a_message_naming_what_differs(reference, mistake):
    namespace = dict(reference)
    exec(compile(mistake.source, f"<mistake {mistake.name}>", "exec"), namespace)
    with pytest.raises(AssertionError) as failure:
        run_test_cell(mistake.function, namespace)
    message = str(failure.value)
    assert message.startswith(f"{mistake.function}: "), message
    assert mistake.expect in message, message


def test_the_class_of_a_model_and_its_settings_are_read_as_data(reference):
    model = reference["net_2"]((28, 28, 1), 10)
    tests = reference["tests"]
    described = [tests.layer_settings(layer) for layer in model.layers
                 if type(layer).__name__ not in tests.IGNORED_LAYERS]
    assert described[1] == ("Conv2D", {"filters": 64, "kernel_size": (3, 3), "strides": (2, 2),
                                       "padding": "valid", "activation": "relu"})
    # Parameter counts cannot tell the two networks apart; their layers can.
    assert model.count_params() == reference["net_1"]((28, 28, 1), 10).count_params()


def test_a_builder_that_returns_something_else_is_told_what_is_expected(reference):
    namespace = dict(reference)
    exec("def net_1(sample_shape, nb_classes):\n    return [sample_shape, nb_classes]\n", namespace)
    with pytest.raises(AssertionError, match="net_1: should return a Keras model"):
        run_test_cell("net_1", namespace)


def test_a_function_that_is_not_written_yet_says_so(reference):
    namespace = dict(reference)
    exec("def one_hot(vector, number_classes):\n    raise NotImplementedError()\n", namespace)
    with pytest.raises(AssertionError, match="one_hot: is not written yet"):
        run_test_cell("one_hot", namespace)

"""Are the test modules students receive readable namespaces: no name defined twice, nothing of
another assignment?"""
import ast

import pytest

from autograder import course, course_checks
from conftest import ASSIGNMENTS


def repeated_names(source):
    """Top-level functions, classes and constants defined more than once in ``source``."""
    tree = ast.parse(source)
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    names += [target.id for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)]
    return sorted({n for n in names if names.count(n) > 1})


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_name_is_defined_twice_in_an_assignments_test_modules(assignment):
    for path in course_checks.module_files(assignment).values():
        assert repeated_names(path.read_text()) == [], path


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_visible_tests_do_not_redefine_a_shared_helper(assignment):
    files = course_checks.module_files(assignment)
    shared = {node.name for node in ast.parse(files[course_checks.SHARED].read_text()).body
              if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    visible = {node.name for node in ast.parse(files[course_checks.VISIBLE].read_text()).body
               if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    assert shared & visible == set()


def test_a_second_definition_of_a_name_is_found():
    assert repeated_names("def check(x):\n    pass\n\nLIMIT = 1\n\ndef check(y):\n    pass\n") == ["check"]


def test_the_stored_values_file_is_named_alike_by_the_build_and_the_tests():
    assert course_checks.load(ASSIGNMENTS[0])[course_checks.SHARED].EXPECTED_FILE == course.EXPECTED_OUTPUTS

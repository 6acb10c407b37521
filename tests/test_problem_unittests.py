"""Is the visible test module one namespace that every assignment can share?"""
import ast


def repeated_names(source):
    """Top-level functions, classes and constants defined more than once in ``source``."""
    tree = ast.parse(source)
    names = [node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    names += [target.id for node in tree.body if isinstance(node, ast.Assign)
              for target in node.targets if isinstance(target, ast.Name)]
    return sorted({n for n in names if names.count(n) > 1})


def test_no_name_is_defined_twice_in_problem_unittests(course_root):
    # A later assignment's helper with an earlier one's name would silently replace it.
    assert repeated_names((course_root / "problem_unittests.py").read_text()) == []


def test_a_second_definition_of_a_name_is_found():
    assert repeated_names("def check(x):\n    pass\n\nLIMIT = 1\n\ndef check(y):\n    pass\n") == ["check"]

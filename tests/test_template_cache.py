"""The workers' template gradebook: made by nbgrader once for each version of the course, then
copied; a kept copy that is corrupt or of another version is made again. A course gradebook
that does not exist yet starts as a copy of the template, one that exists is left to nbgrader."""
import os
import sqlite3
import stat

import pytest

from autograder.gradebook import records, template_cache
from autograder.worker.nbgrader_cli import put_scripts_on_path

ASSIGNMENT = "a01_santa_logreg"


def knows_the_assignment(path):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{path}") as gradebook:
        return [(n.name, len(n.grade_cells)) for n in gradebook.find_assignment(ASSIGNMENT).notebooks]


def folder(tmp_path, name):
    (tmp_path / name).mkdir()
    return tmp_path / name


@pytest.fixture
def counted(tmp_path, monkeypatch):
    """The cache in ``tmp_path``; the list of gradebooks nbgrader's generate_assignment wrote."""
    put_scripts_on_path()  # nbgrader's gradebook runs alembic as it opens a new one
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    made = []
    record = records.record_assignment

    def counting(assignment, db_url, **kwargs):
        made.append(db_url)
        return record(assignment, db_url, **kwargs)

    monkeypatch.setattr(records, "record_assignment", counting)
    return made


def test_the_template_is_made_once_for_a_version_then_copied(tmp_path, counted):
    first = records.template_gradebook(ASSIGNMENT, folder(tmp_path, "one"))
    expected = knows_the_assignment(first)
    assert [name for name, _ in expected] == [ASSIGNMENT] and expected[0][1] == 5
    assert len(counted) == 1
    second = records.template_gradebook(ASSIGNMENT, folder(tmp_path, "two"))
    assert len(counted) == 1, "a kept template of the same version was made again"
    assert second.read_bytes() == first.read_bytes() and knows_the_assignment(second) == expected
    kept = template_cache.kept(ASSIGNMENT)
    assert kept is not None and kept.parent == tmp_path / "cache" / "course-autograder" / template_cache.FOLDER
    # the grader's alone: a template holds the test cells' source, hidden tests included
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in kept.parent.iterdir()} == {0o600}


def test_a_corrupt_or_stale_template_is_made_again_and_the_older_one_removed(tmp_path, counted, monkeypatch):
    made = records.template_gradebook(ASSIGNMENT, folder(tmp_path, "one"))
    kept = template_cache.kept(ASSIGNMENT)
    kept.write_bytes(kept.read_bytes()[:4096])  # cut short
    assert template_cache.kept(ASSIGNMENT) is None
    again = records.template_gradebook(ASSIGNMENT, folder(tmp_path, "two"))
    assert len(counted) == 2 and knows_the_assignment(again) == knows_the_assignment(made)
    assert template_cache.kept(ASSIGNMENT) == kept
    # another version of the course (or of nbgrader): another template, the older one removed
    monkeypatch.setattr(template_cache, "version", lambda assignment: "0" * 32)
    assert template_cache.kept(ASSIGNMENT) is None
    records.template_gradebook(ASSIGNMENT, folder(tmp_path, "three"))
    assert len(counted) == 3
    assert sorted(p.name for p in kept.parent.iterdir()) == [f"{ASSIGNMENT}-{'0' * 32}.db",
                                                             f"{ASSIGNMENT}-{'0' * 32}.sha256"]


def test_a_new_course_gradebook_is_a_copy_of_the_template_an_existing_one_is_nbgraders(tmp_path, counted):
    asked = []

    def template():
        asked.append(True)
        return records.template_gradebook(ASSIGNMENT, folder(tmp_path, "run"))

    records.ensure_assignment_in_gradebook(ASSIGNMENT, f"sqlite:///{tmp_path / 'new.db'}", template)
    assert asked and knows_the_assignment(tmp_path / "new.db") == knows_the_assignment(tmp_path / "run" / "template-gradebook.db")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE((tmp_path / "new.db").stat().st_mode) == 0o666 & ~umask  # as SQLite makes one
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no copy left beside it
    assert counted == [f"sqlite:///{tmp_path / 'run' / 'template-gradebook.db'}"]
    # a gradebook that exists, with other assignments or students in it, is nbgrader's to change
    sqlite3.connect(tmp_path / "existing.db").close()
    asked.clear()
    records.ensure_assignment_in_gradebook(ASSIGNMENT, f"sqlite:///{tmp_path / 'existing.db'}", template)
    assert not asked and counted[-1] == f"sqlite:///{tmp_path / 'existing.db'}"
    assert knows_the_assignment(tmp_path / "existing.db") == knows_the_assignment(tmp_path / "new.db")
    # and one that knows the assignment is left as it is
    before = (tmp_path / "new.db").read_bytes()
    records.ensure_assignment_in_gradebook(ASSIGNMENT, f"sqlite:///{tmp_path / 'new.db'}", template)
    assert len(counted) == 2 and (tmp_path / "new.db").read_bytes() == before

"""The decoded data a grader shares with its kernels (coursekit/decoded.py): the same arrays as the
files give, a corrupt or stale entry never used and made again, nothing used without the folder,
and every data load of a grading-mode notebook found there."""
import json
import re

import nbformat
import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder import course
from coursekit import datasets, decoded
from notebook_runs import run_in_kernel

ROOT = course.COURSE_ROOT
CALLS = sorted({call for a in course.assignment_ids() for call in course.load(a).grading_data})


def same(a, b):
    if isinstance(a, tuple):
        return isinstance(b, tuple) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return (a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b) and a.flags.writeable
            and not np.shares_memory(a, b))


@pytest.fixture(scope="module")
def folder(tmp_path_factory, data_cache):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COURSE_DATA_DIR", str(data_cache))
        made = tmp_path_factory.mktemp("decoded")
        assert decoded.prepare(CALLS, made) == len(CALLS)
        assert decoded.prepare(CALLS, made) == 0  # all sound: nothing made again
    return made


@pytest.fixture
def with_data(monkeypatch, data_cache):
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_cache))
    monkeypatch.delenv(decoded.FOLDER_VARIABLE, raising=False)


@pytest.mark.parametrize("loader, arguments", CALLS, ids=[f"{l}{list(a)}" for l, a in CALLS])
def test_a_load_read_from_the_decoded_arrays_equals_the_files(folder, with_data, monkeypatch, loader, arguments):
    from_files = getattr(datasets, loader)(*arguments)
    monkeypatch.setenv(decoded.FOLDER_VARIABLE, str(folder))
    before = dict(decoded.looked_up)
    from_arrays = getattr(datasets, loader)(*arguments)
    assert decoded.looked_up["found"] == before["found"] + 1
    assert same(from_arrays, from_files)


def test_a_corrupt_entry_is_not_used_and_is_made_again(folder, with_data, monkeypatch, tmp_path):
    import shutil

    copy = tmp_path / "decoded"
    shutil.copytree(folder, copy)
    loader, arguments = ("load_santa", ("validation", 64, 60))
    name = decoded.key(loader, arguments, datasets.load_santa.sources(*arguments))
    arrays = copy / f"{name}.npz"
    data = bytearray(arrays.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of the pictures flipped
    arrays.write_bytes(bytes(data))
    monkeypatch.setenv(decoded.FOLDER_VARIABLE, str(copy))
    before = dict(decoded.looked_up)
    images, labels = datasets.load_santa("validation", size=64, limit=60)
    assert decoded.looked_up["missed"] == before["missed"] + 1
    monkeypatch.delenv(decoded.FOLDER_VARIABLE)
    assert same((images, labels), datasets.load_santa("validation", size=64, limit=60))
    assert decoded.prepare([(loader, arguments)], copy) == 1
    assert decoded.lookup(loader, arguments, datasets.load_santa.sources(*arguments), copy) is not None


def test_an_entry_cut_short_or_missing_its_record_is_a_miss(folder, tmp_path):
    import shutil

    copy = tmp_path / "decoded"
    shutil.copytree(folder, copy)
    loader, arguments = CALLS[0]
    sources = getattr(datasets, loader).sources(*arguments)
    name = decoded.key(loader, arguments, sources)
    (copy / f"{name}.npz").write_bytes((copy / f"{name}.npz").read_bytes()[:1000])
    assert decoded.lookup(loader, arguments, sources, copy) is None
    record = json.loads((folder / f"{name}.json").read_text())
    assert len(record["sha256"]) >= 2
    (copy / f"{name}.json").unlink()
    assert decoded.lookup(loader, arguments, sources, copy) is None


def test_other_files_or_other_arguments_name_another_entry(folder):
    loader, arguments = ("load_santa", ("train", 64, 120))
    sources = datasets.load_santa.sources(*arguments)
    stale = [(name, "0" * 64) if i == 0 else (name, digest) for i, (name, digest) in enumerate(sources)]
    assert decoded.key(loader, arguments, stale) != decoded.key(loader, arguments, sources)
    assert decoded.lookup(loader, arguments, stale, folder) is None
    assert decoded.lookup(loader, ("train", 64, 100), datasets.load_santa.sources("train", 64, 100), folder) is None


def test_without_the_folder_or_with_a_cache_of_its_own_a_loader_reads_the_files(folder, with_data, monkeypatch):
    before = dict(decoded.looked_up)
    datasets.load_catvnoncat()
    assert decoded.looked_up == before
    monkeypatch.setenv(decoded.FOLDER_VARIABLE, str(folder))
    datasets.load_catvnoncat(cache=datasets.default_cache())
    assert decoded.looked_up == before


LOADS = re.compile(r"^.*\bdatasets\.(load_\w+)\(.*$", re.MULTILINE)


@pytest.mark.parametrize("assignment", course.assignment_ids())
def test_every_data_load_of_a_grading_mode_run_is_found_in_the_decoded_arrays(folder, data_cache, monkeypatch,
                                                                             assignment):
    """The manifest's grading_data lists exactly the loads the notebook makes in grading mode:
    each of them, run as in the notebook, finds its arrays."""
    notebook = nbformat.read(str(ROOT / "source" / assignment / f"{assignment}.ipynb"), as_version=4)
    lines = [m.group(0).strip() for c in notebook.cells if c.cell_type == "code" for m in LOADS.finditer(c.source)]
    assert lines, "the notebook loads no data through coursekit.datasets"
    assert sorted(LOADS.sub(r"\1", line) for line in lines) == sorted(l for l, _ in course.load(assignment).grading_data)
    check = new_notebook(cells=[new_code_cell("from coursekit import budget, datasets, decoded"),
                                *map(new_code_cell, lines),
                                new_code_cell("print(decoded.looked_up)")],
                         metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    monkeypatch.setenv("COURSE_DATA_DIR", str(data_cache))
    monkeypatch.setenv(decoded.FOLDER_VARIABLE, str(folder))
    run_in_kernel(check, ROOT / "source" / assignment, 120)
    printed = check.cells[-1].outputs[0]["text"]
    assert printed.strip() == str({"found": len(lines), "missed": 0})

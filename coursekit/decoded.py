"""Decoded arrays of the course's data, made once by the grader and read by the kernels it grades.

Every submission a grader runs loads the same data with the same arguments: the same pictures
decoded, resized and checked again and again. Where ``COURSE_DECODED_DIR`` names a folder of
decoded arrays (the grader makes it with :func:`prepare` and binds it read-only into each kernel's
sandbox), a loader of ``datasets`` first looks there for what the same call returned on the same
files, and reads those arrays instead: the same values, shapes and types, in arrays of its own.

An entry is named by the call (the loader and its arguments) and by the sha256 of every file it
reads, as the data cache declares them: new data, or another subset, is another entry. Beside the
arrays (``<key>.npz``) a record (``<key>.json``) holds the sha256 of each array. A loader that
finds no entry, or one whose arrays do not match their record (corrupt, cut short, or stale), reads
the files as usual; :func:`prepare` makes such an entry again. Without ``COURSE_DECODED_DIR``, as on a
student's machine, nothing here is used.
"""
import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from .whole_files import write_whole

FOLDER_VARIABLE = "COURSE_DECODED_DIR"
FORMAT = 1  # the layout of an entry; another value names other entries
looked_up = {"found": 0, "missed": 0}  # this process's lookups with a folder set, for tests


def key(loader, arguments, sources):
    """The name of the entry of ``loader(*arguments)`` reading ``sources``, [(file name, sha256)]."""
    text = json.dumps([FORMAT, loader, list(arguments), sorted(map(list, sources))], sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _flatten(value, arrays):
    """``value`` (arrays in nested tuples) as a layout of indices into ``arrays``, which it fills."""
    if isinstance(value, tuple):
        return [_flatten(part, arrays) for part in value]
    array = np.asarray(value)
    if array.dtype.metadata:  # h5py's strings: .npz keeps the values, not the metadata
        array = array.astype(np.dtype(array.dtype.str))
    arrays.append(array)
    return len(arrays) - 1


def _unflatten(layout, arrays):
    if isinstance(layout, list):
        return tuple(_unflatten(part, arrays) for part in layout)
    return arrays[layout]


def _digest(array):
    return hashlib.sha256(np.ascontiguousarray(array).view(np.uint8).reshape(-1)).hexdigest()


def lookup(loader, arguments, sources, folder=None):
    """What ``loader(*arguments)`` returned on ``sources``, read from the decoded arrays in
    ``folder`` (default: ``COURSE_DECODED_DIR``); None where there is no sound entry."""
    folder = folder or os.environ.get(FOLDER_VARIABLE)
    if not folder:
        return None
    found = _read(Path(folder), key(loader, arguments, sources))
    looked_up["found" if found is not None else "missed"] += 1
    return found


def _read(folder, name):
    try:
        record = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        with np.load(folder / f"{name}.npz", allow_pickle=False) as stored:
            arrays = [stored[f"a{i}"] for i in range(len(record["sha256"]))]
        if [_digest(a) for a in arrays] != record["sha256"]:
            return None
        return _unflatten(record["layout"], arrays)
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile):
        return None


def store(folder, loader, arguments, sources, value):
    """Keep ``value`` (what ``loader(*arguments)`` returned on ``sources``) in ``folder``; the
    arrays first, then their record, each written whole under a temporary name and renamed."""
    folder = Path(folder)
    name = key(loader, arguments, sources)
    arrays = []
    layout = _flatten(value, arrays)
    for suffix, write in ((".npz", lambda h: np.savez(h, **{f"a{i}": a for i, a in enumerate(arrays)})),
                          (".json", lambda h: h.write(json.dumps(
                              {"loader": loader, "arguments": list(arguments), "layout": layout,
                               "sha256": [_digest(a) for a in arrays]}).encode("utf-8")))):
        write_whole(folder / f"{name}{suffix}", write)


def prepare(calls, folder):
    """Make sure ``folder`` holds a sound entry for each call, (loader name, arguments), of
    ``datasets`` on the data cache of this environment; returns how many were made afresh."""
    from . import datasets

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made = 0
    for loader, arguments in calls:
        function = getattr(datasets, loader)
        sources = function.sources(*arguments)
        if lookup(loader, arguments, sources, folder) is None:
            store(folder, loader, arguments, sources, function.decode(*arguments))
            made += 1
    return made

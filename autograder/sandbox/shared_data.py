"""The decoded data that the kernels of a class share, read-only (``coursekit/decoded.py``).

Before a class is graded, the coordinator decodes once the data loads its manifest lists
(``grading_data``) into the grader's cache folder, where arrays already made for the same calls
on the same files are kept, and corrupt or stale ones are made again. Each kernel then sees that
folder read-only (``Sandbox.decoded_data``) and reads the arrays instead of decoding the files.
"""
import sys

from .. import course
from .policy import cache_root

FOLDER = "decoded-data"


def prepare(assignment, data_dir):
    """The folder of ``assignment``'s decoded data, made ready from the data cache ``data_dir``;
    "" where there is nothing to share (no calls listed, no pre-filled data cache, or the data
    could not be read: the kernels then read the files, and say what is wrong themselves)."""
    calls = course.load(assignment).grading_data
    if not calls or not data_dir:
        return ""
    folder = cache_root() / FOLDER
    try:
        from coursekit import decoded

        decoded.prepare(calls, folder)
    except Exception as error:  # noqa: BLE001 - the kernels decode for themselves then
        print(f"warning: the data of {assignment} was not decoded once for the class ({type(error).__name__}: "
              f"{error}); each kernel reads the files", file=sys.stderr)
        return ""
    return str(folder)

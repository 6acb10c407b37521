"""Files written whole or not at all: under a temporary name in the same folder, then renamed.

A reader (another kernel, a later run) sees either the old file or the complete new one, never a
part; a write that fails leaves no temporary file behind.
"""
import os
import tempfile
from pathlib import Path


def write_whole(path, write, mode=0o644):
    """Make ``path`` with ``write(handle)`` (a binary handle), whole or not at all."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise

"""The course's grading harness around nbgrader: ``python -m autograder grade ...``.

Not to be confused with ``autograded/``, the folder where nbgrader writes graded notebooks.
"""
import sys

# jsonschema, which nbformat imports, also imports ``rfc3987_syntax`` where it is installed (as
# here: jupyter-events asks for ``jsonschema[format-nongpl]``). That module compiles some forty
# grammars as it is imported, for the one thing it does: check the "iri" and "iri-reference"
# formats, which no notebook or Jupyter schema uses. It costs about 1.5 s of a core in every
# process that imports nbformat, more than importing nbgrader without it. The course's own
# processes (the grader, its nbgrader processes, the tests) import this package before nbformat
# and go without it; jsonschema then leaves those two formats unchecked, as it does wherever the
# module is not installed.
sys.modules.setdefault("rfc3987_syntax", None)


def _setuptools_archive_util_on_first_use():
    """nbgrader's ``utils`` imports ``setuptools.archive_util`` for one function, the unpacker of
    ``ZipCollectApp``'s stock extractor. Importing it imports setuptools, and setuptools imports
    ``pkg_resources``: about 0.1 s of a core in every process that imports nbgrader (the
    grader, its fork server, each command and test process), most of them never unpacking an
    archive. Here that module is a stand-in until first used: its three unpackers, and any other
    name read from it, import the real module then, which takes the stand-in's place."""
    import threading
    import types

    name = "setuptools.archive_util"
    if name in sys.modules:
        return
    stand_in = types.ModuleType(name, "setuptools.archive_util, imported on first use (autograder/__init__.py)")
    lock = threading.Lock()

    def real():
        with lock:
            if sys.modules.get(name) is stand_in:
                del sys.modules[name]
            import importlib

            return importlib.import_module(name)

    def read(attribute):
        if attribute.startswith("__"):  # what Python's own machinery asks a module: not a first use
            raise AttributeError(attribute)
        return getattr(real(), attribute)

    def on_first_call(function):
        def call(*args, **kwargs):
            return getattr(real(), function)(*args, **kwargs)

        call.__name__ = call.__qualname__ = function
        return call

    stand_in.__getattr__ = read
    for function in ("unpack_archive", "unpack_tarfile", "unpack_zipfile"):
        setattr(stand_in, function, on_first_call(function))
    sys.modules[name] = stand_in


_setuptools_archive_util_on_first_use()

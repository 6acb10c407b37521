"""``python -m autograder.worker.nbgrader_main ARGS``: nbgrader's command line, without a slow step,
and saying on the side whether it failed on the machine.

nbgrader opens its gradebook several times per notebook, and each time runs the ``alembic``
command in a new process only to learn the newest migration of its own schema, a constant of
the installed nbgrader (about a second each on a small machine). When ``NBGRADER_ALEMBIC_HEAD``
holds that value (``autograder.worker.nbgrader_cli`` computes it once), it is used instead.

nbgrader also checks each cell's nbgrader metadata with ``jsonschema.validate``, which first
checks the schema itself against JSON Schema's own, at every cell, several times a notebook
(half a millisecond a cell; the metadata's own check takes a fifteenth of that). Here its
metadata validators check the schema once (:class:`_SchemaCheckedOnce`): the same errors, raised
at the same cells.

nbgrader makes a new SQLAlchemy engine each time it opens the gradebook (nine times in an
autograde of one notebook), and SQLAlchemy keeps the SQL it compiled for each engine: each
opening compiled its queries again. Here nbgrader's process keeps one engine per database
(:class:`_EnginePerDatabase`). Closing the gradebook still closes the engine's connections
(``Gradebook.close`` disposes of its pool), so the next opening connects afresh.

A gradebook of the grader's scratch (a worker's copy for one submission, the workers' template),
named by ``AUTOGRADER_SCRATCH_GRADEBOOK``, is written without waiting for the disk at each commit
(SQLite's ``synchronous=OFF``): nbgrader commits each grade and comment on its own (30 commits for
one a02 notebook, most of a millisecond each on this machine's disk), and such a gradebook is read
by the worker once nbgrader has ended, then thrown away; a machine that stops meanwhile loses the
submission's grading, not the gradebook, and the submission is graded again. SQLite's journal is
kept, so a process stopped in a transaction leaves the gradebook as it was before it. The course's
gradebook is never named so.

When ``AUTOGRADER_NBGRADER_FAILURE_FD`` names a file descriptor (a pipe of the worker's, which
the sandboxed kernel never holds), :func:`run` writes there what ended nbgrader's work on the
submission, if it was the machine's (``failures.machine_failure``): the exception nbgrader
catches and logs with its traceback (the last one decides), or the one that ends the process.
The worker decides from that, not from the process's output, where the student's kernel writes
too. A pipe, not a file: a full disk is one of the failures it reports.
Everything else is stock nbgrader.
"""
import contextlib
import json
import os
import sys
import traceback

import jsonschema
import nbgrader.api
import nbgrader.converters.base
import nbgrader.nbgraderformat.common
import sqlalchemy.event

from .failures import FAILURE_FD, machine_failure
from .nbgrader_cli import SCRATCH_GRADEBOOK

if os.environ.get("NBGRADER_ALEMBIC_HEAD"):
    nbgrader.api.get_alembic_version = lambda: os.environ["NBGRADER_ALEMBIC_HEAD"]

from nbgrader.apps.nbgraderapp import main  # noqa: E402


class _SchemaCheckedOnce:
    """The ``jsonschema`` module as nbgrader's metadata validators see it: :meth:`validate` is
    ``jsonschema.validate`` with the check of the schema itself, and the validator it makes,
    kept for each schema (by its JSON text: nbgrader reads its schema file again for each
    validator it makes)."""

    def __init__(self):
        self.validators = {}

    def __getattr__(self, name):
        return getattr(jsonschema, name)

    def validate(self, instance, schema, *args, **kwargs):
        if args or kwargs:  # a validator class or options: not how nbgrader calls it
            return jsonschema.validate(instance, schema, *args, **kwargs)
        key = json.dumps(schema, sort_keys=True)
        validator = self.validators.get(key)
        if validator is None:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            validator = self.validators[key] = cls(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
        if error is not None:
            raise error


nbgrader.nbgraderformat.common.jsonschema = _SchemaCheckedOnce()


def _without_waiting_for_the_disk(connection, _record):
    connection.execute("PRAGMA synchronous=OFF")


class _EnginePerDatabase:
    """``create_engine`` as nbgrader's ``Gradebook`` calls it: the engine made for the same URL
    and options earlier in this process, if any (with the SQL it has compiled), else a new one.
    The engine of the scratch gradebook named by ``scratch`` (a URL, or "") commits without
    waiting for the disk."""

    def __init__(self, create):
        self.create = create
        self.scratch = ""
        self.engines = {}

    def __call__(self, url, *args, **kwargs):
        try:
            key = (str(url), args, tuple(sorted(kwargs.items())))
            engine = self.engines.get(key)
        except TypeError:  # an option that cannot be a key: not how nbgrader calls it
            return self.create(url, *args, **kwargs)
        if engine is None:
            engine = self.engines[key] = self.create(url, *args, **kwargs)
            if self.scratch and str(url) == self.scratch and engine.dialect.name == "sqlite":
                sqlalchemy.event.listen(engine, "connect", _without_waiting_for_the_disk)
        return engine


class _RecordingTraceback:
    """The ``traceback`` module as nbgrader's converters see it: ``format_exc()``, which they call
    as they log an exception they caught (the end of a submission's grading: see
    ``BaseConverter.convert_notebooks``), also records that exception."""

    def __init__(self, fd):
        self.fd = fd

    def __getattr__(self, name):
        return getattr(traceback, name)

    def format_exc(self, *args, **kwargs):
        record(self.fd, sys.exc_info()[1])
        return traceback.format_exc(*args, **kwargs)


def record(fd, error):
    """Write to the pipe ``fd`` whether ``error`` is the machine's: its "Name: message", or '', as
    a line of JSON (the worker reads the last line). Never blocks: a pipe left full loses a record."""
    if error is not None:
        with contextlib.suppress(OSError):
            os.write(fd, (json.dumps(machine_failure(error)) + "\n").encode())


def run():
    """nbgrader's command line (``sys.argv``), recording its failures where the environment says."""
    if not isinstance(nbgrader.api.create_engine, _EnginePerDatabase):  # nbgrader's process only
        nbgrader.api.create_engine = _EnginePerDatabase(nbgrader.api.create_engine)
    nbgrader.api.create_engine.scratch = os.environ.pop(SCRATCH_GRADEBOOK, "")  # told to nothing it starts
    if not os.environ.get(FAILURE_FD, "").isdigit():
        return main()
    fd = int(os.environ.pop(FAILURE_FD))  # popped: nothing nbgrader starts is told of it
    os.set_inheritable(fd, False)
    os.set_blocking(fd, False)
    nbgrader.converters.base.traceback = _RecordingTraceback(fd)
    try:
        return main()
    except Exception as error:  # past nbgrader's own handling (SystemExit is its exit status)
        record(fd, error)
        raise


if __name__ == "__main__":
    try:
        run()
    finally:
        from autograder.sandbox.zygote import kernels_peak_kib

        kernels_peak_kib(wait=0)  # removes the usage files of kernels forked from the zygote, if any

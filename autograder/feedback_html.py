"""nbgrader's feedback pages, with their Jinja templates compiled once for many students.

``generate_feedback`` turns each graded notebook into HTML with a new nbconvert
``HTMLExporter``, and each exporter parses and compiles the same templates again (about 0.1 s
a student here). :class:`FeedbackHTMLExporter` is that exporter with one in-memory store of
compiled templates (Jinja's bytecode cache) for the whole process: the workers' fork server
fills it once (``autograder.warm``) and every nbgrader process forked from it starts with it
filled. Jinja checks each template's source against the stored code, so a changed template is
compiled anew; the pages are the same as the stock exporter's.
"""
from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter


class InMemoryBytecodeCache(BytecodeCache):
    """Compiled templates kept in this process (and its forks), by Jinja's key."""

    def __init__(self):
        self.store = {}

    def load_bytecode(self, bucket):
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.store[bucket.key] = bucket.bytecode_to_string()

    def clear(self):
        self.store.clear()


COMPILED_TEMPLATES = InMemoryBytecodeCache()


class FeedbackHTMLExporter(HTMLExporter):
    """nbconvert's HTML exporter, its templates compiled once per process."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED_TEMPLATES
        return environment

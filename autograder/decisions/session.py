"""Test cells decided in the grader's process, never in the student's kernel.

In stock nbgrader a test cell runs in the student's kernel, after the student's code, so the
student's code can change what the test sees: patch ``np.allclose`` or the test helpers, return
an object equal to everything, hide tracebacks, rewrite the cell before it runs, read the
expected values from the caller's frame. Here a test cell's source (nbgrader's copy, from the
gradebook) runs in this process with the assignment's own tests, read from its room
(``autograder/course_checks.py``: its ``problem_unittests`` and ``hidden_checks``); each name the
cell takes from the notebook (``propagate``, ``KNearestNeighbor``) stands for the student's
object in the kernel (:class:`Remote`), and calling it sends the arguments there and brings back
the result (``wire.py``).

What comes back is trusted as nothing more than data:

- a call's result must be data (numbers, arrays, containers, a Keras model rebuilt here from its
  config and weights, or from its config alone where the test asked for no weights); an object
  of the student's own is refused, except where a test deliberately makes an instance of a
  student's class (``check_helpers.construct``) and then calls its methods;
- the arguments the grader sends are copies: the kernel says which of them a call changed in
  place, and nothing of its changes reaches the grader's objects;
- the kernel may call back only the stand-ins a test handed it (``check_helpers.stand_ins``,
  or a callable set as an attribute of a student's object), with data, by name: no attribute of
  a stand-in, no object of the tests, nothing else of this process;
- a stand-in of a class the visible tests mark ``replayed_in_kernel`` (a training loop's, called
  thousands of times) is answered in the kernel by a copy made from its source, which logs each
  call and its answer; this process runs its own stand-in on the logged calls, in order, and
  refuses the test where an answer differs (:meth:`Session.replay`): its stand-in records the
  very calls the student's code made, and that code saw only the answers it gives;
- every message, and the work this process does for a call from the kernel, counts against the
  cell's time limit.

The memory a call held at once, where a test limits it (``check_helpers.peak_memory``), is
measured twice: in the kernel with ``tracemalloc``, as a test run there measures it, and from
this process, by the resident memory of the kernel's processes while the call runs
(``kernel_memory.py``). The test gets the larger, so a student who tampers with ``tracemalloc``
in the kernel no longer hides an array of hundreds of MiB (from a test run in the kernel, as stock
nbgrader runs it, they would).

The hidden tests and their expected values never enter the kernel. ``cell.py`` runs a test cell
with the kernel's agent and turns what was decided into the cell's outputs: the lines the tests
print, or the failure as an error output (its message only, never the hidden source), which
nbgrader turns into the score.
"""
import ast
import builtins
import contextlib
import gc
import inspect
import io
import json
import time

import numpy as np

from .. import course_checks
from . import wire

class TestTimeout(Exception):
    """The test cell ran out of its time. ``msg_id`` is the request of the kernel's cell that ran
    the agent, when one was sent (``cell.stop_test_cell`` ends it)."""

    msg_id = None


class KernelGone(Exception):
    """The kernel died."""


class AgentStopped(Exception):
    """The kernel is alive, but the agent that answers the tests stopped (the student's code
    broke what it needs): this cell's tests fail, the next ones still run."""


class AgentMissing(AgentStopped):
    """The kernel has no agent (yet, or any more): it is installed again."""


class AnswerRefused(BaseException):
    """What the kernel sent is not data of the protocol (an object of the student's own where
    data was expected, a malformed message): the test cell fails with this. A BaseException, so
    that no test's ``except Exception`` takes it for an error of the student's function."""


# --------------------------------------------------------------------------------------------
# The student's objects, as the tests see them
# --------------------------------------------------------------------------------------------

NAME, INSTANCE, METHOD = "name", "instance", "method"
_remote_classes = {}


class Remote:
    """The student's object ``target`` in the kernel, as a test sees it: a name of the notebook,
    an instance of the student's class that a test made, or one of their methods."""

    __slots__ = ("_session", "_target", "_label", "_kind")

    def __init__(self, session, target, label, kind):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)
        object.__setattr__(self, "_kind", kind)

    def __call__(self, *args, **kwargs):
        """Call it; the result comes back as data (see the module's docstring)."""
        return self._session.call(self._target, args, kwargs)

    def course_call_without_weights(self, *args, **kwargs):
        """Call it for a test that reads the layers and shapes of the Keras models it returns,
        never their weights: the models come back as their config alone, built here with fresh
        weights of their own (``check_helpers.without_weights``)."""
        return self._session.call(self._target, args, kwargs, without_weights=True)

    def course_peak_memory(self, *args, **kwargs):
        """Call it, measuring in the kernel the memory the call held at once: ``(result, bytes)``
        (``check_helpers.peak_memory``)."""
        return self._session.call(self._target, args, kwargs, measure=True)

    def course_construct(self, *args, **kwargs):
        """Make an instance of the student's class: the one call whose result may be an object
        of the student's own, which the test then drives through its methods."""
        return self._session.call(self._target, args, kwargs, make_handle=self._session.instance_handle)

    def __getattr__(self, name):
        if name == "__name__":
            return self._label
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        if self._kind == METHOD:
            raise AttributeError(f"{name} of {self._label} is not read by the tests")
        return self._session.request({"op": "getattr", "target": self._target, "name": name},
                                     make_handle=self._session.method_handle(f"{self._label}.{name}"))

    def __setattr__(self, name, value):
        if self._kind != INSTANCE or name.startswith("_"):
            raise AttributeError(f"{name} of {self._label} cannot be set by the tests")
        self._session.set_attribute(self._target, name, value)

    def __repr__(self):
        return f"<{self._label} in the student's kernel>"

    def course_stand_ins(self, replacements):
        """Put ``replacements`` (name -> stand-in of this process) in place of the names this
        function looks up in the kernel; returns a function that puts the old ones back."""
        return self._session.install(self._target, replacements)


def _remote(session, target, label, kind):
    cls = _remote_classes.get(label)
    if cls is None:
        name = label if label.isidentifier() else "object"
        cls = _remote_classes[label] = type(name, (Remote,), {"__slots__": ()})
    return cls(session, target, label, kind)


def runs_hidden_code(stand_in):
    """Whether calling ``stand_in`` (or its ``fallback``, a Lookup's answer to calls it does not
    know) runs code of the hidden checks. A stand-in runs in this process for whatever arguments
    the kernel sends, so one of the hidden checks' reference functions would answer any question
    the student's code asks it; stand-ins come from the visible tests and the check helpers,
    which the student holds anyway, with tables of the right answers to the expected calls."""
    for part in (stand_in, getattr(stand_in, "fallback", None)):
        function = getattr(part, "__func__", part)
        if isinstance(part, type) or hasattr(function, "__code__"):  # a class, a function, a method
            module = getattr(function, "__module__", None)
        else:  # an object: its class's code runs
            module = type(part).__module__
        if part is not None and module == course_checks.HIDDEN:
            return True
    return False


def remote_exception(report):
    """An exception of this process that stands for the one the student's code raised."""
    if not isinstance(report, dict):
        report = {}
    bases = [getattr(builtins, name, None) for name in report.get("bases", []) if isinstance(name, str)]
    base = next((b for b in bases if isinstance(b, type) and issubclass(b, Exception)), RuntimeError)
    name = str(report.get("type") or base.__name__)[:80]
    cls = base if name == base.__name__ else type(name if name.isidentifier() else "Error", (base,), {})
    error = cls(str(report.get("message", ""))[:wire.MAX_TEXT])
    error.course_where = str(report.get("where", ""))[:300]
    return error


# --------------------------------------------------------------------------------------------
# One test cell's conversation with the kernel
# --------------------------------------------------------------------------------------------

class Session:
    """One test cell's conversation with the kernel's agent (see ``wire.Agent``)."""

    def __init__(self, exchange, deadline=None, memory=None):
        self.exchange = exchange  # a message for the agent -> the agent's next message
        self.deadline = deadline  # time.monotonic() past which the cell has run out of time
        self.memory = memory      # kernel_memory.KernelMemory of the kernel's processes, or None
        self.codec = wire.Codec(handles=False)
        self.callbacks = {}   # key -> (stand-in, method names when it makes instances, else None)
        self.replayed = set()  # keys of the stand-ins the kernel answers with a copy of its own
        self.copied = {}       # id() -> object, of the stand-ins a copy was made of in the kernel
        self.modules = {}      # the assignment's test modules (course_checks.load), where known
        self.instances = []   # (key, object) made by the stand-ins for the kernel
        self.changed_ids = set()  # id() of the grader's objects that a call changed in place

    def check_deadline(self):
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise TestTimeout()

    # -- the objects the kernel keeps --------------------------------------------------------------
    def instance_handle(self, number, label, is_callable):
        return _remote(self, {"ref": number}, label, INSTANCE)

    def method_handle(self, label):
        def make(number, type_label, is_callable):
            if not is_callable:
                raise wire.WireError(f"{label} is an object of the student's own (a {type_label}) where data "
                                     f"was expected")
            return _remote(self, {"ref": number}, label, METHOD)
        return make

    def changed_elsewhere(self, obj):
        """Whether the kernel changed its copy of the grader's ``obj`` in place."""
        return id(obj) in self.changed_ids

    # -- requests ----------------------------------------------------------------------------------
    def call(self, target, args, kwargs, make_handle=None, without_weights=False, measure=False):
        """The result of calling ``target`` in the kernel; with ``measure``, (result, the bytes
        the call held at once: the larger of the kernel's measurement and this process's)."""
        message = {"op": "call", "target": target, "args": self.codec.encode(list(args)),
                   "kwargs": self.codec.encode(dict(kwargs))}
        if without_weights:
            message["models"] = "without weights"
        if measure:
            message["measure"] = "peak memory"
        return self.request(message, make_handle, without_weights, measure)

    def set_attribute(self, target, name, value):
        message = {"op": "setattr", "target": target, "name": name}
        if callable(value) and not isinstance(value, Remote):
            key = f"callback-{len(self.callbacks)}"
            message.update(self._register_stand_in(key, value))
        else:
            message["value"] = self.codec.encode(value)
        self.request(message)

    def install(self, target, replacements):
        copies = {}  # id() of a stand-in object copied into the kernel -> its number in this message
        names = [{"name": name, **self._register_stand_in(name, value, copies)} for name, value in replacements.items()]
        self.request({"op": "install", "target": target, "names": names})

        def restore():
            self.request({"op": "uninstall"})
            for name in replacements:
                self.callbacks.pop(name, None)
                self.replayed.discard(name)
        return restore

    def _register_stand_in(self, key, value, copies=None):
        if runs_hidden_code(value):
            raise RuntimeError(f"the tests handed the student's kernel {key!r}, a stand-in that runs code of "
                               f"{course_checks.HIDDEN}: the kernel could call it with inputs of its own "
                               f"choosing and read reference answers; stand in with a Lookup of the calls the "
                               f"test expects")
        methods = getattr(value, "stand_in_methods", None)
        methods = tuple(methods) if methods else None
        self.callbacks[key] = (value, methods)
        if copies is not None and methods is None:
            replay = self._replay_spec(value, copies)
            if replay is not None:
                self.replayed.add(key)
                return {"callback": key, "replay": replay}
        return {"callback": key, "methods": list(methods)} if methods else {"callback": key}

    def _replay_spec(self, value, copies):
        """How the kernel makes its copy of the stand-in ``value`` (a method of an object, or a
        callable object, of a class the visible tests mark with ``course_replayed_in_kernel``);
        None where the kernel must ask the grader at each call: another kind of stand-in, or an
        object that was copied into the kernel before (its copy there would start afresh)."""
        owner, method = (value.__self__, value.__func__.__name__) if inspect.ismethod(value) else (value, None)
        cls = type(owner)
        made_with = getattr(owner, "course_made_with", None)
        source = replay_source(cls, self.modules) if getattr(cls, "course_replayed_in_kernel", False) else None
        if source is None or made_with is None or runs_hidden_code(owner):
            return None
        if id(owner) in copies:
            return {"instance": copies[id(owner)], "method": method}
        if id(owner) in self.copied:
            return None
        self.copied[id(owner)] = owner
        copies[id(owner)] = len(copies)
        args, kwargs = made_with
        return {"instance": copies[id(owner)], "method": method, "source": source,
                "class": cls.__name__, "arguments": self.codec.encode(list(args)),
                "keywords": self.codec.encode(dict(kwargs))}

    def request(self, message, make_handle=None, without_weights=False, measure=False):
        """Send ``message``, run the stand-ins the kernel calls meanwhile, and return the answer;
        ``without_weights``: the request asked for Keras models without their weights;
        ``measure``: for the call's peak memory, returned with the answer; where the kernel's
        processes are known here, they are watched from outside too (``kernel_memory.py``)."""
        self.check_deadline()
        watching = self.memory.watch() if measure and self.memory is not None else contextlib.nullcontext()
        try:
            with watching as watch, _collector_paused():
                crossed = 0  # characters of the messages, both ways

                def exchange(text):
                    nonlocal crossed
                    answer = self.exchange(text)
                    crossed += len(text) + (len(answer) if isinstance(answer, (str, bytes)) else 0)
                    return answer

                reply = self._receive(exchange(json.dumps(message)))
                while True:
                    self.check_deadline()
                    if "log" in reply:
                        self.replay(reply.pop("log"))
                    if "callback" in reply:
                        reply = self._receive(exchange(json.dumps(self._run_callback(reply))))
                    elif not reply:  # the log alone, sent as it grew
                        reply = self._receive(exchange(json.dumps({"logged": True})))
                    else:
                        break
            self.check_deadline()
            self._note_changes(reply.get("changed", []))
            if "raised" in reply:
                raise remote_exception(reply["raised"])
            if measure:
                peak = reply.get("peak_bytes")
                if type(peak) is not int or peak < 0:
                    raise wire.WireError("the call's peak memory did not come back")
                if watch is not None:
                    peak = max(peak, watch.held_by_call(crossed))
            with self.codec.models_without_weights(without_weights):
                value = self.codec.decode(reply.get("value"), make_handle)
            return (value, peak) if measure else value
        except wire.WireError as error:
            raise AnswerRefused(str(error)) from None

    def _receive(self, text):
        if text is None:
            raise wire.WireError("the kernel answered nothing")
        return wire.read_message(text)

    def _note_changes(self, changed):
        if not isinstance(changed, list):
            raise wire.WireError("not a list of changed objects")
        for number in changed[:100000]:
            if isinstance(number, int) and 0 <= number < len(self.codec.table) and number not in self.codec.received:
                self.changed_ids.add(id(self.codec.table[number]))
                self.codec.forget(number)

    def replay(self, log):
        """Run the stand-ins the kernel answered with its own copies on the calls it logged, in
        order, as if each call had come here (the stand-ins record the same calls, in the same
        state); an answer or error of the kernel's copy that differs from this process's is
        refused. The objects of each answer are then this process's own, as if sent from here: a
        test that checks what the student's code passed back finds its stand-in's very objects."""
        if not isinstance(log, list):
            raise wire.WireError("a log of calls that is not the grader's protocol")
        for entry in log:
            self.check_deadline()
            key = entry.get("callback") if isinstance(entry, dict) else None
            if not isinstance(key, str) or key not in self.replayed or key not in self.callbacks:
                raise wire.WireError(f"a logged call of {str(key)[:80]!r}, which is no stand-in the kernel "
                                     f"answers itself")
            args, kwargs = self.codec.decode_arguments(entry.get("args", []), entry.get("kwargs", []))
            self.codec.take_touched()
            try:
                value, raised = self.callbacks[key][0](*args, **kwargs), None
            except (TestTimeout, KernelGone, AgentStopped):
                raise
            except Exception as error:  # noqa: BLE001 - compared with what the kernel's copy raised
                value, raised = None, f"{type(error).__name__}: {error}"[:wire.MAX_TEXT]
            if raised is not None or "raised" in entry:
                if entry.get("raised") != raised or "value" in entry:
                    raise wire.WireError(f"the kernel's copy of the stand-in {key} did not fail as the test's "
                                         f"does (was it changed in the kernel?)")
                continue
            if "value" not in entry:
                raise wire.WireError("a logged call without its answer")
            self._adopt(entry["value"], value, key)

    def _adopt(self, logged, value, key):
        """Check that ``logged``, the kernel's copy's answer as it was sent, is ``value``, this
        process's answer. ``value`` is written as it would be sent from here, which numbers its
        objects as the kernel numbered its copy's (from now on they are this process's own, as if
        sent from here), and the two must be the same message, type for type: the same arrays
        (dtype, shape, order and bytes), the same numbers and texts, containers of the same types
        and keys, an object answered twice (or one that crossed before) in the same places."""
        try:
            own = self.codec.encode(value)
        except wire.WireError:  # nothing that can cross: no answer of the kernel's is the same
            own = None
        if own is None or not same_data(own, logged):
            raise wire.WireError(f"the kernel's copy of the stand-in {key} answered differently from the "
                                 f"test's (was it changed in the kernel?)")

    def _run_callback(self, message):
        """Run the stand-in the kernel calls; its answer, as a message for the kernel."""
        try:
            key = message.get("callback")
            entry = self.callbacks.get(key) if isinstance(key, str) else None
            if entry is None:
                raise wire.WireError(f"no stand-in {str(key)[:80]!r} was handed to the kernel")
            stand_in, methods = entry
            args = self.codec.decode(message.get("args", {"list": []}))
            kwargs = self.codec.decode(message.get("kwargs", {"dict": []}))
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise wire.WireError("a call that is not the grader's protocol")
            self.codec.take_touched()
            if message.get("new"):
                if methods is None:
                    raise wire.WireError(f"the stand-in {key!r} makes no objects")
                self.instances.append((key, stand_in(*args, **kwargs)))
                value = len(self.instances) - 1
            elif "instance" in message:
                index, method = message.get("instance"), message.get("method")
                if methods is None or method not in methods or not isinstance(index, int) or isinstance(index, bool) \
                        or not 0 <= index < len(self.instances) or self.instances[index][0] != key:
                    raise wire.WireError(f"no method {str(method)[:80]!r} of the stand-in {key!r} to call")
                value = getattr(self.instances[index][1], method)(*args, **kwargs)
            else:
                if methods is not None:
                    raise wire.WireError(f"the stand-in {key!r} is called through the objects it makes")
                value = stand_in(*args, **kwargs)
            return {"value": self.codec.encode(value)}
        except (TestTimeout, KernelGone, AgentStopped):
            raise
        except Exception as error:  # noqa: BLE001 - told to the kernel, which raises it there
            return {"raised": f"{type(error).__name__}: {error}"[:wire.MAX_TEXT]}


@contextlib.contextmanager
def collector_restored():
    """Python's cyclic garbage collector as it was before this block once it ends, however the
    block ended: a test cell decided here, its alarm disarmed by then, undoes a pause of
    :func:`_collector_paused` that the alarm cut short, so the next cells are collected."""
    was_enabled = gc.isenabled()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def _collector_paused():
    """Python's cyclic garbage collector paused inside this block: while one request crosses, with
    the calls the kernel makes meanwhile. Its messages and their replay make thousands of
    objects that the codec keeps, none of them in cycles, and each full collection they set off
    would walk every object of the grading process: measured, a third to a half of the grader's
    CPU in a02's training-loop test. What a request leaves in cycles (a Keras model built from
    its config) is collected after it, as before. The test's alarm (``cell.time_limit``) may ring
    anywhere, in this block's own lines too: one that rings before the collector is enabled again
    leaves it paused until the test cell ends (:func:`collector_restored`)."""
    with collector_restored():
        gc.disable()
        yield


def same_data(a, b):
    """Whether ``a`` and ``b``, two values as the codec writes them (JSON's data), are the same,
    type for type: ``1``, ``1.0`` and ``True`` differ."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(map(same_data, a, b))
    if type(a) is dict:
        return list(a) == list(b) and all(same_data(a[key], b[key]) for key in a)
    return a == b


_sources = {}  # path -> (the file's text, {class name: the class's source})


def class_sources(path, text):
    """{name: source} of the classes defined at the top of ``text``, the file at ``path``, kept
    while its text stays the same: the fork server reads the test modules' classes once
    (``worker/warm.py``), and each grading process finds them read."""
    cached = _sources.get(path)
    if cached is None or cached[0] != text:
        lines = text.splitlines(keepends=True)
        found = {node.name: "".join(lines[node.lineno - 1:node.end_lineno])
                 for node in ast.parse(text).body if isinstance(node, ast.ClassDef)}  # the last of a name wins
        cached = _sources[path] = (text, found)
    return cached[1]


def replay_source(cls, modules):
    """The source of the stand-in class ``cls`` of the visible tests or the check helpers (one of
    ``modules``, as ``course_checks.load`` made them), without its decorators: the kernel's copy
    is made from the very text this process's class was. None where it is not found there."""
    module = modules.get(cls.__module__) if cls.__module__ in (course_checks.SHARED, course_checks.VISIBLE) else None
    path = getattr(module, "__file__", None)
    if path is None or getattr(module, cls.__name__, None) is not cls:
        return None
    text = course_checks.compiled_text(path)
    if text is None:
        return None
    return class_sources(path, text).get(cls.__name__)


def notebook_names(source):
    """Names a test cell reads but does not define: the student's objects (and ``tests``, ``np``)."""
    tree = ast.parse(source)
    defined, read = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (read if isinstance(node.ctx, ast.Load) else defined).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            defined.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            defined.add(node.arg)
    return sorted(read - defined - set(dir(builtins)))


def decide(source, exchange, assignment, deadline=None, memory=None):
    """Run the test cell ``source`` of ``assignment`` here against the kernel reached through
    ``exchange``, with the assignment's own tests (``autograder/course_checks.py``); ``memory``:
    the kernel's processes (``kernel_memory.KernelMemory``), where they are known.

    Returns (printed text, None) when every test passed, or (printed text, (name, message))
    when one failed.
    """
    session = Session(exchange, deadline, memory)
    modules = session.modules = course_checks.load(assignment)
    modules[course_checks.SHARED].changed_elsewhere = session.changed_elsewhere
    namespace = course_checks.cell_namespace(assignment, modules=modules, np=np)
    for name in notebook_names(source):
        namespace.setdefault(name, _remote(session, {"name": name}, name, NAME))
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "<test cell>", "exec"), namespace)  # noqa: S102 - the instructor's test
    except (TestTimeout, KernelGone, AgentStopped):
        raise
    except (AnswerRefused, wire.WireError) as error:
        return printed.getvalue(), ("GradingError", f"the answer could not be read back from the kernel: {error}")
    except Exception as error:  # noqa: BLE001 - a failing test, whatever it raised
        return printed.getvalue(), (type(error).__name__, str(error)[:wire.MAX_TEXT])
    return printed.getvalue(), None

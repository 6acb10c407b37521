"""Test cells decided in the grader's process, never in the student's kernel.

In stock nbgrader a test cell runs in the student's kernel, after the student's code, so the
student's code can change what the test sees: patch ``np.allclose`` or the test helpers, return
an object equal to everything, hide tracebacks, rewrite the cell before it runs, read the
expected values from the caller's frame. Here a test cell's source (nbgrader's copy, from the
gradebook) runs in this process with the assignment's own tests, read from its room
(``autograder/course_checks.py``: its ``problem_unittests`` and ``hidden_checks``); each name the cell
takes from the notebook (``propagate``, ``KNearestNeighbor``) stands for the student's object in
the kernel, and calling it sends the arguments there and brings back the result, as plain data
only (``autograder/wire.py``). Stand-ins that a test puts in place of the student's helpers run
here too, called back from the kernel. The hidden tests and their expected values never enter
the kernel.

The cell's outputs say what was decided: the lines the tests print, or the failure as an error
output (its message only, never the hidden source), which nbgrader turns into the score.
"""
import ast
import base64
import builtins
import contextlib
import functools
import io
import json
import os
import socket
import tempfile
import time
import types
import uuid
import weakref
from pathlib import Path
from queue import Empty

import numpy as np
from nbformat.v4 import new_output

from . import course_checks, wire

AGENT_SOURCE = Path(wire.__file__).read_text(encoding="utf-8")
# The agent is installed once in each kernel, as the module ``__course_agent__`` (its text travels
# in base64, so that an input transformer looking for words, say every cell that mentions
# "tests.", does not rewrite it); each test cell then only starts it. Builtins and IPython are
# reached by import, so that a student's variable named `input` or `exec` does not stand in the way.
# Code in the notebook can do what it likes to the installed agent: it only answers calls, and a
# kernel where it is gone gets it again.
INSTALL = ("__import__('sys').modules['__course_agent__'] = __course_agent__ = "
           "__import__('types').ModuleType('__course_agent__')\n"
           "__import__('builtins').exec(__import__('builtins').compile("
           "__import__('base64').b64decode({source!r}).decode('utf-8'), {file!r}, 'exec'), "
           "__course_agent__.__dict__)\n"
           "del __course_agent__\n")
AGENT_MISSING = "course-agent-missing"
SERVE = ("if not __import__('builtins').hasattr(__import__('sys').modules.get('__course_agent__'), "
         "'serve_socket'):\n"
         f"    raise __import__('builtins').LookupError({AGENT_MISSING!r})\n"
         "__import__('sys').modules['__course_agent__'].serve_socket("
         "__import__('IPython').get_ipython().user_ns, {path!r})\n")
_agent_installed = weakref.WeakSet()  # the kernel clients whose kernel got the agent
MAX_STREAM = 20000  # characters of the kernel's printing kept per test cell


class TestTimeout(Exception):
    pass


class KernelGone(Exception):
    """The kernel died."""


class AgentStopped(Exception):
    """The kernel is alive, but the agent that answers the tests stopped (the student's code
    broke what it needs): this cell's tests fail, the next ones still run."""


class AgentMissing(AgentStopped):
    """The kernel has no agent (yet, or any more): it is installed again."""


_remote_classes = {}


class Remote:
    """The student's object ``target`` in the kernel, as a test sees it."""

    __slots__ = ("_session", "_target", "_label")

    def __init__(self, session, target, label):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_label", label)

    def __call__(self, *args, **kwargs):
        session = self._session
        return session.request({"op": "call", "target": self._target,
                                "args": session.codec.encode(list(args)),
                                "kwargs": session.codec.encode(dict(kwargs))})

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__") and name not in ("__name__", "__get__", "__qualname__"):
            raise AttributeError(name)
        return self._session.request({"op": "getattr", "target": self._target, "name": name})

    def __setattr__(self, name, value):
        session = self._session
        message = {"op": "setattr", "target": self._target, "name": name, "value": None}
        if callable(value) and not isinstance(value, Remote):
            message["callback"] = session.callback(value)
        else:
            message["value"] = session.codec.encode(value)
        session.request(message)

    def __repr__(self):
        return f"<{self._label} in the student's kernel>"

    def course_stand_ins(self, replacements):
        """Put ``replacements`` (name -> callable of this process) in place of the names this
        function looks up in the kernel; returns a function that puts the old ones back."""
        session = self._session
        for name, value in replacements.items():
            session.callbacks[name] = value
        session.request({"op": "install", "target": self._target, "names": list(replacements)})

        def restore():
            session.request({"op": "uninstall"})
            for name in replacements:
                session.callbacks.pop(name, None)
        return restore


def _remote(session, target, label):
    cls = _remote_classes.get(label)
    if cls is None:
        name = label if label.isidentifier() else "object"
        cls = _remote_classes[label] = type(name, (Remote,), {"__slots__": ()})
    return cls(session, target, label)


def remote_exception(report):
    """An exception of this process that stands for the one the student's code raised."""
    bases = [getattr(builtins, name, None) for name in report.get("bases", [])]
    base = next((b for b in bases if isinstance(b, type) and issubclass(b, Exception)), RuntimeError)
    name = str(report.get("type") or base.__name__)
    cls = base if name == base.__name__ else type(name if name.isidentifier() else "Error", (base,), {})
    error = cls(str(report.get("message", "")))
    error.course_where = str(report.get("where", ""))
    return error


# where the course's test code is defined (autograder/course_checks.py)
TEST_MODULES = ("check_helpers", "problem_unittests", "hidden_checks", "__test_cell__")


def course_object(obj):
    """Whether ``obj`` may stay in this process behind a handle the kernel can call: an instance
    or a class of the tests, a function of the tests, or such an instance's method. Never a
    module, a built-in, or anything else of this process."""
    if isinstance(obj, types.ModuleType):
        return False
    if isinstance(obj, types.MethodType):
        return course_object(obj.__self__) and getattr(obj.__func__, "__module__", None) in TEST_MODULES
    if isinstance(obj, (types.FunctionType, type)):
        return getattr(obj, "__module__", None) in TEST_MODULES
    return type(obj).__module__ in TEST_MODULES


class Session:
    """One test cell's conversation with the kernel's agent (see ``wire.Agent``)."""

    def __init__(self, exchange):
        self.exchange = exchange  # a message for the agent -> the agent's next message
        self.codec = wire.Codec(handles=course_object)
        self.callbacks = {}

    def make_handle(self, number, label, is_callable):
        return _remote(self, {"ref": number}, label)

    def callback(self, function):
        key = f"callback-{len(self.callbacks)}"
        self.callbacks[key] = function
        return key

    def request(self, message):
        message["changes"] = self.codec.changes()
        reply = self._receive(self.exchange(json.dumps(message)))
        while "callback" in reply:
            reply = self._receive(self.exchange(json.dumps(self._run_callback(reply))))
        value = self.codec.decode(reply["value"], self.make_handle) if "value" in reply else None
        self.codec.apply(reply.get("changes", []), self.make_handle)
        if "raised" in reply:
            raise remote_exception(reply["raised"])
        return value

    @staticmethod
    def _receive(text):
        try:
            reply = json.loads(text)
        except (TypeError, ValueError):
            raise wire.WireError("the kernel answered something that is not the grader's protocol") from None
        if not isinstance(reply, dict):
            raise wire.WireError("the kernel answered something that is not the grader's protocol")
        return reply

    def _run_callback(self, message):
        args = self.codec.decode(message.get("args", {"list": []}), self.make_handle)
        kwargs = self.codec.decode(message.get("kwargs", {"dict": []}), self.make_handle)
        self.codec.apply(message.get("changes", []), self.make_handle)
        own = self.codec.take_touched()  # the stand-in's arguments: their changes go back with the reply
        key, attr = message.get("callback"), message.get("attr")
        try:
            function = self.codec.own_object(key) if isinstance(key, dict) else self.callbacks.get(key)
            if function is None:
                raise wire.WireError(f"no stand-in {key!r}")
            if attr is not None:
                if not isinstance(attr, str) or attr.startswith("_"):
                    raise AttributeError(f"{attr!r} of a stand-in cannot be read")
                result = getattr(function, attr)
            else:
                result = function(*args, **kwargs)
            reply = {"value": self.codec.encode(result)}
        except Exception as error:  # noqa: BLE001 - told to the kernel, which raises it there
            return {"raised": f"{type(error).__name__}: {error}", "changes": self.codec.changes(also=own)}
        reply["changes"] = self.codec.changes(also=own)
        return reply


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


def decide(source, exchange, assignment):
    """Run the test cell ``source`` of ``assignment`` here against the kernel reached through
    ``exchange``, with the assignment's own tests (``autograder/course_checks.py``).

    Returns (printed text, None) when every test passed, or (printed text, (name, message))
    when one failed.
    """
    session = Session(exchange)
    namespace = course_checks.cell_namespace(assignment, np=np)
    for name in notebook_names(source):
        namespace.setdefault(name, _remote(session, {"name": name}, name))
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            exec(compile(source, "<test cell>", "exec"), namespace)  # noqa: S102 - the instructor's test
    except (TestTimeout, KernelGone, AgentStopped):
        raise
    except wire.WireError as error:
        return printed.getvalue(), ("GradingError", f"the answer could not be read back from the kernel: {error}")
    except Exception as error:  # noqa: BLE001 - a failing test, whatever it raised
        return printed.getvalue(), (type(error).__name__, str(error))
    return printed.getvalue(), None


def run_test_cell(kc, source, timeout, assignment, folder=None):
    """Decide the test cell ``source`` of ``assignment`` with the kernel of the blocking client
    ``kc`` (one that no one else uses); returns the cell's outputs. Raises :class:`KernelGone` when the kernel died,
    :class:`TestTimeout` past ``timeout`` seconds (the kernel is then still busy: the caller
    interrupts it).

    The agent and this process talk through a Unix socket in ``folder``, a folder the kernel
    sees at the same path (the sandbox's ipc folder; a new temporary one when None): plain
    frames, none of the Jupyter protocol's signing and parsing for each of the thousands of calls
    a test may make.
    """
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="course-agent-"))
            os.chmod(folder, 0o755)
        path = os.path.join(folder, f"agent-{uuid.uuid4().hex[:12]}.sock")
        server = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        server.bind(path)
        stack.callback(_unlink, path)
        os.chmod(path, 0o777)  # the kernel runs as a user of its own
        server.listen(1)
        install = kc not in _agent_installed
        try:
            return _run_with_agent(kc, source, assignment, deadline, server, path, stack, install)
        except AgentMissing:
            if install:
                raise
            return _run_with_agent(kc, source, assignment, deadline, server, path, stack, True)


@functools.lru_cache(maxsize=1)
def _agent_base64():
    return base64.b64encode(AGENT_SOURCE.encode("utf-8")).decode("ascii")


def _unlink(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def _run_with_agent(kc, source, assignment, deadline, server, path, stack, install):
    starter = SERVE.format(path=path)
    if install:
        _agent_installed.discard(kc)
        starter = INSTALL.format(source=_agent_base64(), file=wire.AGENT_FILE) + starter
    msg_id = kc.execute(starter, silent=False, store_history=False, allow_stdin=False)
    streams = []

    def drain():
        while True:
            try:
                message = kc.get_iopub_msg(timeout=0)
            except Empty:
                return
            if message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "stream":
                if sum(map(len, streams)) < MAX_STREAM:
                    streams.append(message["content"].get("text", ""))

    def finished(wait=0.0):
        try:
            reply = kc.get_shell_msg(timeout=wait)
        except Empty:
            return None
        return reply if reply["parent_header"].get("msg_id") == msg_id else None

    def check_kernel():
        """Between waits: the cell that runs the agent ended, the kernel died, or time is up."""
        if time.monotonic() > deadline:
            raise TestTimeout()
        drain()
        reply = finished()
        if reply is not None:
            content = reply["content"]
            if content.get("ename") == "LookupError" and content.get("evalue") == AGENT_MISSING:
                raise AgentMissing("the kernel has no agent")
            raise AgentStopped(f"{content.get('ename', '')}: {content.get('evalue', '')}"[:300])
        if not kc.is_alive():
            raise KernelGone("the kernel died")

    server.settimeout(0.5)
    while True:
        try:
            connection, _ = server.accept()
            break
        except socket.timeout:
            check_kernel()
    stack.enter_context(connection)
    channel = wire.Channel(connection, wait=check_kernel)

    def closed():
        """The agent's connection ended: say why (its cell ended, or the kernel died)."""
        settle = time.monotonic() + 5  # a dead kernel's heartbeat stops within seconds
        while time.monotonic() < settle:
            check_kernel()
            time.sleep(0.1)
        raise AgentStopped("the agent closed its connection")

    def exchange(text):
        try:
            channel.send(text)
            return channel.receive()
        except (wire.ChannelClosed, ConnectionError):
            closed()

    try:
        if channel.receive() != "course-agent:ready":
            raise AgentStopped("the agent did not start")
        if install:
            _agent_installed.add(kc)
    except (wire.ChannelClosed, ConnectionError):
        closed()
    printed, failure = decide(source, exchange, assignment)
    try:
        channel.send(json.dumps({"op": "end"}))
    except ConnectionError:
        closed()
    while finished(wait=0.05) is None:
        if time.monotonic() > deadline:
            raise TestTimeout()
        drain()
    drain()
    outputs = []
    kernel_text = "".join(streams)
    if kernel_text:
        outputs.append(new_output("stream", name="stdout", text=kernel_text[:MAX_STREAM]))
    if printed:
        outputs.append(new_output("stream", name="stdout", text=printed))
    if failure is not None:
        name, message = failure
        outputs.append(new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"]))
    return outputs

"""A test cell decided with the kernel's agent: start the agent, answer through it, end it.

The agent (``wire.py``, installed once in each kernel) connects to a Unix socket this process
listens on, in a folder the kernel sees at the same path (the sandbox's socket folder), and
answers the calls of ``session.decide`` there: plain frames, none of the Jupyter protocol's signing
and parsing for each of the thousands of calls a test may make. Meanwhile this process watches the
kernel: the cell that runs the agent ending, the kernel dying, and the cell's time limit.
"""
import base64
import contextlib
import functools
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
import weakref
from pathlib import Path
from queue import Empty

from nbformat.v4 import new_output

from . import wire
from .session import AgentMissing, AgentStopped, KernelGone, TestTimeout, collector_restored, decide

AGENT_SOURCE = Path(wire.__file__).read_text(encoding="utf-8")
# The agent is installed once in each kernel, as the module ``__course_agent__`` (its text travels
# in base64, so that an input transformer looking for words, say every cell that mentions
# "tests.", does not rewrite it); each test cell then only starts it. A kernel forked from the
# kernel zygote has it from its start (``sandbox/zygote_server.py`` installs it the same way).
# Builtins and IPython are reached by import, so that a student's variable named `input` or
# `exec` does not stand in the way.
# Code in the notebook can do what it likes to the installed agent: it only answers calls, and a
# kernel where it is gone gets it again.
INSTALL = ("__import__('sys').modules['__course_agent__'] = __course_agent__ = "
           "__import__('types').ModuleType('__course_agent__')\n"
           "__import__('builtins').exec(__import__('builtins').compile("
           "__import__('base64').b64decode({source!r}).decode('utf-8'), {file!r}, 'exec'), "
           "__course_agent__.__dict__)\n"
           "del __course_agent__\n")
AGENT_MISSING = "course-agent-missing"
AGENT_SOCKET = "agent-{}.sock"  # in the kernel's socket folder, whose length allows for 12 characters here
SERVE = ("if not __import__('builtins').hasattr(__import__('sys').modules.get('__course_agent__'), "
         "'serve_socket'):\n"
         f"    raise __import__('builtins').LookupError({AGENT_MISSING!r})\n"
         "__import__('sys').modules['__course_agent__'].serve_socket("
         "__import__('IPython').get_ipython().user_ns, {path!r})\n")
_agent_installed = weakref.WeakSet()  # the kernel clients whose kernel got the agent
MAX_STREAM = 20000  # characters of the kernel's printing kept per test cell
GRACE = 2.0  # seconds a timed-out test cell has to end by itself before it is interrupted




@contextlib.contextmanager
def time_limit(deadline):
    """Raise :class:`TestTimeout` in this thread at ``deadline`` (time.monotonic()), wherever
    this process is (its own work for the kernel included); where signals cannot be used (not
    the main thread), the deadline is checked at each message only.

    An alarm that rings while Python runs a finaliser (a weakref callback, ``__del__``) raises
    there, and Python drops that exception (``sys.unraisablehook``: "Exception ignored in ...",
    seen in a test run): the alarm then rings again at once, and the dropped one is not reported
    as an error (pytest made it a warning, a grader's log a traceback)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        raise TestTimeout()

    def dropped(unraisable):
        if isinstance(unraisable.exc_value, TestTimeout):  # our own alarm: ring it again, outside
            signal.setitimer(signal.ITIMER_REAL, 0.001)
            return
        try:
            previous_hook(unraisable)
        except BaseException as failure:
            # Python would report the hook's failure after ours returns, with an alarm that may
            # ring meanwhile, and drop both: report it here, before the alarm is armed.
            try:
                sys.__unraisablehook__(type(unraisable)((type(failure), failure, failure.__traceback__,
                                                         "Exception ignored in sys.unraisablehook",
                                                         previous_hook)))
            except Exception:
                pass  # nowhere to report it

    previous_hook, sys.unraisablehook = sys.unraisablehook, dropped
    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, max(0.001, deadline - time.monotonic()))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook


_UMASK = threading.Lock()


@contextlib.contextmanager
def _umask(mask):
    with _UMASK:
        old = os.umask(mask)
        try:
            yield
        finally:
            os.umask(old)


@functools.lru_cache(maxsize=1)
def _agent_base64():
    return base64.b64encode(AGENT_SOURCE.encode("utf-8")).decode("ascii")


def _unlink(path):
    with contextlib.suppress(OSError):
        os.unlink(path)


def run_test_cell(kc, source, timeout, assignment, folder=None, memory=None, preinstalled=False):
    """Decide the test cell ``source`` of ``assignment`` with the kernel of the blocking client
    ``kc`` (one that no one else uses); returns the cell's outputs. Raises :class:`KernelGone`
    when the kernel died, :class:`TestTimeout` past ``timeout`` seconds (the kernel is then
    still busy: the caller interrupts it).

    The agent and this process talk through a Unix socket in ``folder``, a folder the kernel
    sees at the same path (the sandbox's socket folder; a new temporary one when None): plain
    frames, none of the Jupyter protocol's signing and parsing for each of the thousands of calls
    a test may make.

    ``memory``: the kernel's processes (``kernel_memory.KernelMemory``), watched from here while
    a call whose memory a test limits runs; None where they are not known here.

    ``preinstalled``: the kernel came with the agent (forked from the kernel zygote, which holds
    it: ``sandbox/zygote_server.py``), so its first test cell only starts it; one that has lost
    it gets it installed then, as any kernel without it does.
    """
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="course-agent-"))
            os.chmod(folder, 0o755)
        path = os.path.join(folder, AGENT_SOCKET.format(uuid.uuid4().hex[:12]))
        server = stack.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
        # The socket is made open to all (the kernel runs as a user of its own) by the umask in
        # force while it is bound: no chmod by path, which could be turned onto another file.
        with _umask(0):
            server.bind(path)
        stack.callback(_unlink, path)
        server.listen(1)
        install = kc not in _agent_installed and not preinstalled
        cell = AgentCell(kc, deadline, stack, memory)
        try:
            with collector_restored(), time_limit(deadline):  # the alarm disarmed first, then the collector
                try:
                    return cell.run(source, assignment, server, path, install)
                except AgentMissing:
                    if install:
                        raise
                    cell = AgentCell(kc, deadline, stack, memory)
                    return cell.run(source, assignment, server, path, True)
        except TestTimeout as error:
            error.msg_id = cell.msg_id
            raise


def _reply_to(get, msg_id, wait):
    """The reply to request ``msg_id`` read with ``get`` (a channel's get_msg) within ``wait``
    seconds, replies to other requests skipped; None when it did not come."""
    end = time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        try:
            reply = get(timeout=left)
        except Empty:
            return None
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply
    return None


def stop_test_cell(kc, msg_id, wait=10.0):
    """After :class:`TestTimeout`: end the kernel's cell ``msg_id`` that ran the agent, and return
    only once nothing of it is left in the kernel, so that the notebook's next cell runs whole.

    Its connection is closed by then, so a cell that waited on this process ends by itself within
    ``GRACE`` seconds. One that does not (the student's code keeps the kernel busy) is interrupted
    with an ``interrupt_request`` on the control channel, and its reply is awaited: the kernel
    sends its SIGINT before it answers, so no interrupt can arrive late and fall on the next cell.
    Raises :class:`KernelGone` when the kernel does not answer within ``wait`` seconds.
    """
    if msg_id is not None and _reply_to(kc.get_shell_msg, msg_id, GRACE) is not None:
        return
    request = kc.session.msg("interrupt_request", {})
    kc.control_channel.send(request)
    if _reply_to(kc.control_channel.get_msg, request["header"]["msg_id"], wait) is None:
        raise KernelGone("the kernel did not answer the interrupt of a test that ran out of time")
    if msg_id is not None and _reply_to(kc.get_shell_msg, msg_id, wait) is None:
        raise KernelGone("the kernel's test cell did not end after it was interrupted")


class AgentCell:
    """One test cell decided with the kernel's agent: the small cell that starts the agent runs in
    the kernel while this process asks it the test's calls, then ends."""

    def __init__(self, kc, deadline, stack, memory=None):
        self.kc, self.deadline, self.stack, self.memory = kc, deadline, stack, memory
        self.msg_id = None
        self.streams = []  # what the kernel printed meanwhile (the student's code may print)
        self.channel = None

    def run(self, source, assignment, server, path, install):
        starter = SERVE.format(path=path)
        if install:
            _agent_installed.discard(self.kc)
            starter = INSTALL.format(source=_agent_base64(), file=wire.AGENT_FILE) + starter
        # stop_on_error=False: this cell may end in an error (the agent missing, a test stopped by
        # its time), and ipykernel then aborts the execute requests it receives until it has
        # handled that error, after it has sent the reply: the notebook's next cell, sent on the
        # reply, was lost that way ("In [ ]", no output) when the machine was busy.
        self.msg_id = self.kc.execute(starter, silent=False, store_history=False, allow_stdin=False,
                                      stop_on_error=False)
        self.connect(server)
        try:
            if self.channel.receive() != "course-agent:ready":
                raise AgentStopped("the agent did not start")
            if install:
                _agent_installed.add(self.kc)
        except (wire.ChannelClosed, ConnectionError):
            self.closed()
        printed, failure = decide(source, self.exchange, assignment, self.deadline, self.memory)
        self.end()
        return self.outputs(printed, failure)

    # -- the kernel, between waits ---------------------------------------------------------------
    def drain(self):
        """Keep what the starter cell printed (up to MAX_STREAM characters)."""
        while True:
            try:
                message = self.kc.get_iopub_msg(timeout=0)
            except Empty:
                return
            if message["parent_header"].get("msg_id") == self.msg_id and message["msg_type"] == "stream":
                text = message["content"].get("text", "")
                if isinstance(text, str) and sum(map(len, self.streams)) < MAX_STREAM:  # (the kernel's to send)
                    self.streams.append(text)

    def finished(self, wait=0.0):
        """The starter cell's reply, once it has ended; None before."""
        try:
            reply = self.kc.get_shell_msg(timeout=wait)
        except Empty:
            return None
        return reply if reply["parent_header"].get("msg_id") == self.msg_id else None

    def check_kernel(self):
        """Between waits: the cell that runs the agent ended, the kernel died, or time is up."""
        if time.monotonic() > self.deadline:
            raise TestTimeout()
        self.drain()
        reply = self.finished()
        if reply is not None:
            content = reply["content"]
            if content.get("ename") == "LookupError" and content.get("evalue") == AGENT_MISSING:
                raise AgentMissing("the kernel has no agent")
            raise AgentStopped(f"{content.get('ename', '')}: {content.get('evalue', '')}"[:300])
        if not self.kc.is_alive():
            raise KernelGone("the kernel died")

    # -- the agent's connection ------------------------------------------------------------------
    def connect(self, server):
        server.settimeout(0.5)
        while True:
            try:
                connection, _ = server.accept()
                break
            except socket.timeout:
                self.check_kernel()
        self.stack.enter_context(connection)
        self.channel = wire.Channel(connection, wait=self.check_kernel)

    def closed(self):
        """The agent's connection ended: say why (its cell ended, or the kernel died)."""
        settle = time.monotonic() + 5  # a dead kernel's heartbeat stops within seconds
        while time.monotonic() < settle:
            self.check_kernel()
            time.sleep(0.1)
        raise AgentStopped("the agent closed its connection")

    def exchange(self, text):
        try:
            self.channel.send(text)
            return self.channel.receive()
        except (wire.ChannelClosed, ConnectionError):
            self.closed()

    def end(self):
        """Tell the agent the cell is decided and wait for its cell to end. After a message too
        large to read, the connection is closed instead: the agent's cell ends on its own."""
        if self.channel.broken:
            self.channel.close()
        else:
            try:
                self.channel.send(json.dumps({"op": "end"}))
            except ConnectionError:
                self.closed()
        while self.finished(wait=0.05) is None:
            if time.monotonic() > self.deadline:
                raise TestTimeout()
            self.drain()
        self.drain()

    def outputs(self, printed, failure):
        outputs = []
        kernel_text = "".join(self.streams)
        if kernel_text:
            outputs.append(new_output("stream", name="stdout", text=kernel_text[:MAX_STREAM]))
        if printed:
            outputs.append(new_output("stream", name="stdout", text=printed[:MAX_STREAM]))
        if failure is not None:
            name, message = failure
            outputs.append(new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"]))
        return outputs

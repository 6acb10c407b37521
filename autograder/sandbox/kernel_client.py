"""The grading kernel's client: ready as soon as the kernel is.

jupyter_client's ``wait_for_ready`` asks the kernel for its ``kernel_info`` until it replies and
IOPub carries a message (so that IOPub is connected), then reads IOPub on until it has been
silent for 0.2 s: every kernel start waits those 0.2 s after the kernel is ready.
:class:`PromptKernelClient` does the same without that last wait. What IOPub carries afterwards
stays there unread: nbclient reads only the messages of the cell it runs.

Its channels, and those of the grader's own blocking client (:class:`CheckedBlockingKernelClient`),
hand on only messages their readers can read (:class:`_Checked`).
"""
import logging
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.blocking import BlockingKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel, ZMQSocketChannel
from traitlets import Type

REPLY_WAIT = 1.0  # seconds for the reply to kernel_info, as jupyter_client waits
IOPUB_WAIT = 0.2  # then for a message on IOPub, as jupyter_client waits; the kernel is asked again after


LOG = logging.getLogger(__name__)


def shape_problem(msg):
    """What makes the decoded message ``msg`` one that nbclient and the grader cannot read (they
    read the parent header's id of every message, then the type and content of those of their
    request), or None."""
    for part in ("header", "parent_header", "content"):
        if not isinstance(msg.get(part), dict):
            return f"its {part.replace('_', ' ')} is not an object"
    if not isinstance(msg.get("msg_type"), str):
        return "its type is not a string"
    return None


class _Checked:
    """A channel that hands on only messages its readers can read: frames the session cannot
    decode (not JSON, a signature seen before, too few) and messages whose header, parent header
    or content is not an object are dropped (nbclient failed on them, and the notebook's grading
    with it), the first logged. What the student's kernel sends is the kernel's to choose."""

    dropped = 0  # messages dropped so far

    def _checked(self, frames):
        """The message of ``frames``, or None where it is dropped."""
        try:
            _, framed = self.session.feed_identities(frames)
            msg = self.session.deserialize(framed)
        except Exception as error:  # the kernel's bytes: whatever the session's reading raises
            problem = f"it could not be decoded ({type(error).__name__})"
        else:
            problem = shape_problem(msg)
            if problem is None:
                return msg
        self.dropped += 1
        if self.dropped == 1:
            LOG.warning("the kernel sent a message that cannot be read, dropped with any others: %s", problem)
        return None


def _left(deadline):
    return None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000))


class CheckedChannel(_Checked, AsyncZMQSocketChannel):
    """jupyter_client's asynchronous channel (nbclient's), checked."""

    async def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not await self.socket.poll(_left(deadline)):
                raise Empty
            msg = self._checked(await self.socket.recv_multipart())
            if msg is not None:
                return msg


class CheckedBlockingChannel(_Checked, ZMQSocketChannel):
    """jupyter_client's blocking channel (the grader's own client for test cells), checked."""

    def get_msg(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if not self.socket.poll(_left(deadline)):
                raise Empty
            msg = self._checked(self.socket.recv_multipart())
            if msg is not None:
                return msg


class CheckedBlockingKernelClient(BlockingKernelClient):
    """The blocking client of a grading kernel: its channels checked."""

    shell_channel_class = Type(CheckedBlockingChannel)
    iopub_channel_class = Type(CheckedBlockingChannel)
    control_channel_class = Type(CheckedBlockingChannel)


class PromptKernelClient(AsyncKernelClient):
    """The client nbclient runs a grading kernel's cells with: ready at once, its channels checked."""

    shell_channel_class = Type(CheckedChannel)
    iopub_channel_class = Type(CheckedChannel)
    control_channel_class = Type(CheckedChannel)

    async def wait_for_ready(self, timeout=None):
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=REPLY_WAIT)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=IOPUB_WAIT)
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    return
            if not await self.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

"""The grading kernels' client (autograder/sandbox/kernel_client.py), with a real kernel."""
import asyncio
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from autograder.sandbox.kernel_client import CheckedBlockingKernelClient, PromptKernelClient
from autograder.sandbox.kernel_manager import SandboxedKernelManager


class PromptManager(AsyncKernelManager):
    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)
    blocking_class = Type(CheckedBlockingKernelClient)


def _printer(seconds):
    """Kernel options: a thread started with the kernel prints every 20 ms for ``seconds``, so IOPub
    is not silent when the kernel becomes ready."""
    code = ("import threading, time\n"
            "def _tick():\n"
            "    end = time.monotonic() + %r\n"
            "    while time.monotonic() < end:\n"
            "        print('tick', flush=True)\n"
            "        time.sleep(0.02)\n"
            "threading.Thread(target=_tick, daemon=True).start()" % seconds)
    return [f"--IPKernelApp.exec_lines={code}"]


async def _start(manager_class, printing, read=None):
    """A kernel whose thread prints for ``printing`` s, and its client, ready; ``read``: a list
    that receives the IOPub messages the client read while it waited to be ready."""
    manager = manager_class()
    await manager.start_kernel(extra_arguments=_printer(printing))
    client = manager.client()
    client.start_channels()
    if read is not None:
        get_msg = client.iopub_channel.get_msg

        async def reading(*args, **kwargs):
            message = await get_msg(*args, **kwargs)
            read.append(message)
            return message

        client.iopub_channel.get_msg = reading
    await client.wait_for_ready(timeout=60)
    if read is not None:
        del client.iopub_channel.get_msg
    return manager, client


def _ticks(messages):
    return sum(m["msg_type"] == "stream" and m["content"]["text"].startswith("tick") for m in messages)


async def _printed_after(client):
    """Whether the printing thread still prints once the client is ready (within 1 s)."""
    deadline = asyncio.get_running_loop().time() + 1.0
    while (left := deadline - asyncio.get_running_loop().time()) > 0:
        try:
            message = await client.iopub_channel.get_msg(timeout=left)
        except Empty:
            return False
        if message["msg_type"] == "stream" and message["content"]["text"].startswith("tick"):
            return True
    return False


async def _run(client, code):
    """The text the kernel prints for ``code``, and its reply's status."""
    msg_id = client.execute(code)
    printed = []
    while True:
        message = await client.iopub_channel.get_msg(timeout=30)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "stream":
            printed.append(message["content"]["text"])
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            break
    reply = await client.shell_channel.get_msg(timeout=30)
    return "".join(printed), reply["content"]["status"]


def test_grading_kernels_use_the_prompt_client_and_the_checked_blocking_client():
    assert SandboxedKernelManager.client_factory.default_value is PromptKernelClient
    assert SandboxedKernelManager.blocking_class.default_value is CheckedBlockingKernelClient


def test_ready_while_iopub_is_busy_and_the_first_cell_is_whole():
    async def scenario():
        read = []
        manager, client = await _start(PromptManager, printing=30, read=read)
        try:
            assert isinstance(client, PromptKernelClient)
            assert _ticks(read) <= 1  # one message, to know that IOPub is connected
            # Ready while IOPub still carries the thread's prints: nothing waited for silence.
            assert await _printed_after(client)
            printed, status = await _run(client, "print(6 * 7)")
            # the thread's prints go to the cell's output too, and may fall between "42" and its
            # end of line (print writes them apart: "42tick\n\n" in a run)
            assert status == "ok" and "42\n" in printed.replace("tick", ""), printed
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    asyncio.run(scenario())


def test_stock_client_reads_iopub_until_silent():
    """What the prompt client leaves out: the stock client reads IOPub on until it is silent for
    0.2 s, here until the thread has stopped printing (a busy machine may stop it sooner: the
    test asks only that it read on past the first message)."""
    async def scenario():
        read = []
        manager, client = await _start(AsyncKernelManager, printing=1.0, read=read)
        try:
            assert not isinstance(client, PromptKernelClient)
            assert _ticks(read) > 1
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    asyncio.run(scenario())


# Frames a student's kernel can send on IOPub itself (the kernel's session signs them): the
# printed lines between them are the messages the clients must still read.
UNREADABLE = """
import time
k = get_ipython().kernel
session, parent = k.session, k.get_parent()["header"]

def frames(msg_type, parent_header, content):
    parts = [session.pack(p) for p in (session.msg_header(msg_type), parent_header, {}, content)]
    return [b"<IDS|MSG>", session.sign(parts)] + parts

def send(frames):
    k.iopub_socket.send_multipart(frames)
    time.sleep(0.05)

print("first", flush=True)
send([b"<IDS|MSG>", b"", b"not JSON", b"{}", b"{}", b"{}"])  # unsigned, and not JSON
send(frames("stream", [parent], {"name": "stdout", "text": "a list as parent header"}))
send(frames("display_data", parent, ["a list as content"]))
twice = frames("stream", parent, {"name": "stdout", "text": "twice\\n"})
send(twice)
send(twice)  # a signature seen before
print("last", flush=True)
"""


def test_messages_a_client_cannot_read_are_dropped_and_the_others_read():
    """Frames that are not JSON, a message whose parent header or content is a list, and one sent
    twice: nbclient's client and the grader's blocking client each read the others, in order
    (jupyter_client's raised for each, and nbclient with it)."""
    async def scenario():
        manager, client = await _start(PromptManager, printing=0)
        blocking = manager.blocking_client()
        blocking.start_channels()
        try:
            assert isinstance(blocking, CheckedBlockingKernelClient)
            blocking.wait_for_ready(timeout=30)
            printed, status = await _run(client, UNREADABLE)
            assert status == "ok" and printed.split() == ["first", "twice", "last"], printed
            assert client.iopub_channel.dropped == 4
            seen = []
            while "last\n" not in seen:
                message = blocking.get_iopub_msg(timeout=30)
                if message["msg_type"] == "stream":
                    seen.append(message["content"]["text"])
            assert "".join(seen).split() == ["first", "twice", "last"], seen
            assert blocking.iopub_channel.dropped == 4
        finally:
            blocking.stop_channels()
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    asyncio.run(scenario())

"""The grading kernels' client (autograder/sandbox/kernel_client.py), with a real kernel."""
import asyncio
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from autograder.sandbox.kernel_client import PromptKernelClient
from autograder.sandbox.kernel_manager import SandboxedKernelManager


class PromptManager(AsyncKernelManager):
    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)


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


def test_grading_kernels_use_the_prompt_client():
    assert SandboxedKernelManager.client_factory.default_value is PromptKernelClient


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

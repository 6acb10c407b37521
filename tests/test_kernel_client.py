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


async def _start(manager_class, printing):
    manager = manager_class()
    await manager.start_kernel(extra_arguments=_printer(printing))
    client = manager.client()
    client.start_channels()
    await client.wait_for_ready(timeout=60)
    return manager, client


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
        manager, client = await _start(PromptManager, printing=30)
        try:
            assert isinstance(client, PromptKernelClient)
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
    """What the prompt client leaves out: the stock client waits until the thread has stopped printing."""
    async def scenario():
        manager, client = await _start(AsyncKernelManager, printing=1.0)
        try:
            assert not isinstance(client, PromptKernelClient)
            assert not await _printed_after(client)
        finally:
            client.stop_channels()
            await manager.shutdown_kernel(now=True)

    asyncio.run(scenario())

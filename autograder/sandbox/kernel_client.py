"""The grading kernel's client: ready as soon as the kernel is.

jupyter_client's ``wait_for_ready`` asks the kernel for its ``kernel_info`` until it replies and
IOPub carries a message (so that IOPub is connected), then reads IOPub on until it has been
silent for 0.2 s: every kernel start waits those 0.2 s after the kernel is ready.
:class:`PromptKernelClient` does the same without that last wait. What IOPub carries afterwards
stays there unread: nbclient reads only the messages of the cell it runs.
"""
import time
from queue import Empty

from jupyter_client.asynchronous import AsyncKernelClient

REPLY_WAIT = 1.0  # seconds for the reply to kernel_info, as jupyter_client waits
IOPUB_WAIT = 0.2  # then for a message on IOPub, as jupyter_client waits; the kernel is asked again after


class PromptKernelClient(AsyncKernelClient):

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

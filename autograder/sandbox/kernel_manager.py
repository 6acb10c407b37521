"""Kernels started in the sandbox, whatever the notebook's kernelspec asks for.

:class:`SandboxedKernelManager` is the kernel manager ``autograder.decisions.execute``
gives nbclient for grading: it starts the course's Python kernel in the sandbox of
``policy.py`` (or under its limits only, or neither: ``Sandbox.mode``), afresh or forked from the
kernel zygote (``zygote.py``) where the harness runs one (``Sandbox.zygote_socket``).
"""
import os
import sys
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type

from .. import scratch
from ..settings import Sandbox
from . import cgroups, zygote
from .kernel_client import CheckedBlockingKernelClient, PromptKernelClient
from .kernel_output import KernelOutput
from .policy import (COURSE_ROOT, WORK, bwrap_command, kernel_environment, kernel_uid, limits_prefix,
                     matplotlib_font_lists, resource_limits, sandbox_mode)

# What the log says where a kernel could not be forked from the zygote (worker/job.py reports it).
STARTED_AFRESH = "starting the kernel afresh"
# The options of every grading kernel, forked from the zygote or started afresh. IPython's history
# of inputs is kept in memory only: ``In``, ``_ih``, ``%history`` of the session work as before,
# and no SQLite file is written for each cell by a thread of the kernel's (about a fifth of
# ipykernel's CPU time for a short cell), for a session no one reads again.
KERNEL_OPTIONS = ("--HistoryManager.enabled=False",)


def shared_folders(settings):
    """The variables that name, to a kernel in bubblewrap, the folders the kernels of a class
    share: the decoded data and the reference's Keras calls, which bubblewrap binds read-only, and
    the folder the grader's own run of the reference records into, bound writable into that
    kernel alone (``policy.bwrap_command``). A kernel outside bubblewrap runs as the grader's user
    and could change them for every kernel after it: it gets none, and reads and runs everything
    itself."""
    return {name: value for name, value in (("COURSE_DECODED_DIR", settings.decoded_data),
                                            ("COURSE_REPLAY_DIR", settings.keras_replay),
                                            ("COURSE_REPLAY_RECORD_DIR", settings.keras_record)) if value}


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start in the sandbox the settings ask for.

    The files that enter are those of ``Sandbox.released``, or else of ``release/<assignment>/``
    of this course for a kernel started in a folder named after an assignment (nbgrader's
    ``autograded/<student>/<assignment>/``).

    Its clients are ready as soon as the kernel is and read only messages they can read
    (``kernel_client.py``), and a kernel it stops
    is seen gone within 10 ms, not jupyter_client's 100 ms.
    """

    client_factory = Type(PromptKernelClient, klass=AsyncKernelClient)
    blocking_class = Type(CheckedBlockingKernelClient)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.settings = Sandbox(parent=self)
        self.mode = sandbox_mode(self.settings.mode)
        self.limits = self.settings.limits()
        self.released = self.settings.released
        self._ipc_folder = None
        self._sockets = None
        self._output = None
        self._group = None  # the kernel's control group (cgroups.py), while it runs
        self.agent_preinstalled = False  # the kernel came from the zygote, which holds the grader's agent
        if self.mode == "bwrap":
            scratch.clear_stale_runs()
            self._sockets = scratch.SocketFolder()
            self._ipc_folder = self._sockets.path
            self.transport = "ipc"
            self.ip = os.path.join(self._ipc_folder, "kernel")
            # bwrap ends on SIGINT (taking the kernel with it): interrupt by a control message.
            self.kernel_spec.interrupt_mode = "message"

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        # Its standard output and error: a pipe of which this process keeps the start and the end
        # (kernel_output.py), not this process's own output file, which grew by all of it.
        self._output = KernelOutput()
        kw = {**kw, "stdout": self._output.write_fd, "stderr": self._output.write_fd}
        try:
            return await self._launch_sandboxed(**kw)
        finally:
            self._output.close_writer()  # the kernel (and its sandbox) hold their copies now

    async def _launch_sandboxed(self, **kw):
        self._remove_group()  # a restarted kernel's former group
        self.agent_preinstalled = False
        if self.mode != "off":
            self._group = cgroups.kernel_group(self.limits, self.settings.cgroup)
        enter = self._group.prefix() if self._group else []
        kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", os.path.realpath(self.connection_file),
                      *KERNEL_OPTIONS]
        if not self.released and kw.get("cwd"):
            guess = COURSE_ROOT / "release" / Path(kw["cwd"]).name
            self.released = str(guess) if guess.is_dir() else ""
        env = kernel_environment(kw.get("env") or os.environ)
        if self.mode == "bwrap":
            env.update(shared_folders(self.settings))
            os.chmod(self.connection_file, 0o644)
            if self.settings.zygote_socket and zygote.usable(self.settings):
                try:
                    info = await self._launch_from_zygote(self.settings.zygote_socket, env, kw)
                    self.agent_preinstalled = True
                    return info
                except zygote.ZygoteUnavailable as error:
                    self.log.warning(f"{STARTED_AFRESH}: %s", error)
            kernel_cmd = enter + bwrap_command(kernel_cmd, self.released, self._ipc_folder,
                                               os.path.realpath(self.connection_file), env, self.limits,
                                               matplotlib_font_lists())
            kw["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        elif self.mode == "rlimits":
            kernel_cmd = enter + limits_prefix(self.limits) + kernel_cmd
            kw["env"] = {**env, "HOME": os.environ.get("HOME", "/tmp"), "PATH": os.environ.get("PATH", "")}
            kw["env"].pop("IPYTHONDIR", None)
            kw["env"].pop("MPLCONFIGDIR", None)
            kw["env"].pop("KERAS_HOME", None)
        return await super()._async_launch_kernel(kernel_cmd, **kw)

    async def _launch_from_zygote(self, socket_path, env, kw):
        """The sandbox as for any kernel, with the zygote's kernel in it (``zygote.py``)."""
        placeholder = [sys.executable, "-S", "-c", zygote.PLACEHOLDER, zygote.PLACEHOLDER_MARK]
        command = bwrap_command(placeholder, self.released, self._ipc_folder,
                                os.path.realpath(self.connection_file), env, self.limits,
                                matplotlib_font_lists())
        if self._group:  # the sandbox in the kernel's group; the kernel enters it itself (zygote_server.py)
            command = self._group.prefix() + command
        kw = {**kw, "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}}
        info = await super()._async_launch_kernel(command, **kw)
        request = {"env": env, "uid": kernel_uid(), "rlimits": resource_limits(self.limits), "cwd": WORK,
                   "options": list(KERNEL_OPTIONS),
                   "connection_file": os.path.realpath(self.connection_file)}
        groups = []
        try:
            groups = self._group.open_procs() if self._group else []
            zygote.fork_kernel(socket_path, self.provisioner.process.pid, request,
                               output=(self._output.write_fd, self._output.write_fd), cgroups=groups)
        except (zygote.ZygoteUnavailable, OSError) as error:
            await self.provisioner.kill()
            await self.provisioner.wait()
            if isinstance(error, zygote.ZygoteUnavailable):
                raise
            raise zygote.ZygoteUnavailable(f"the kernel's control group could not be opened ({error})") from None
        finally:
            for fd in groups:
                os.close(fd)
        return info

    def stopped_for_memory(self):
        """Whether the kernel's control group had a process of it stopped for its memory limit
        (False where the kernel has no group)."""
        return bool(self._group and self._group.oom_kills())

    def _remove_group(self):
        if self._group is not None:
            if not self._group.remove():
                self.log.warning("the kernel's control group %s could not be removed", self._group.folders[0])
            self._group = None

    async def _async_wait(self, pollinterval=0.01):
        await super()._async_wait(pollinterval=pollinterval)

    def lock_socket_folder(self):
        """The kernel is up: from now on it may add nothing to the folder of its sockets."""
        if self._sockets is not None:
            self._sockets.lock()

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self._output is not None:  # the kernel is gone: what is kept of its output is written
            self._output.finish()
            self._output = None
        if self._sockets is not None and not restart:
            self._sockets.remove()
        self._remove_group()

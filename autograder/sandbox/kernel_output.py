"""What a kernel writes to its standard output and error, kept to a size.

ipykernel sends what the student's code prints to the grader as messages, and also echoes what
it writes to the file descriptors 1 and 2 to the kernel process's own: left as they were, those
were the nbgrader process's output file, which then grew by whatever the code wrote there, up
to the kernel's file size limit (``Sandbox.file_mb``, 512 MiB) per submission being graded. A
kernel's own messages (a failure to start, a crash) are worth keeping; a flood is not.

:class:`KernelOutput` gives the kernel a pipe instead, drained by a thread of the grading process
into its own standard error: the first ``HEAD`` and the last ``TAIL`` bytes, with a line saying
how many between were not kept. A pipe is not bounded by a file size limit; draining it costs
the grading process little, and the student's code the time it spends writing. The worker keeps
the output of each nbgrader process the same way (``worker/processes.py``).
"""
import os
import threading

HEAD = TAIL = 64 * 1024  # bytes of a kernel's output kept from its start, and from its end
_CHUNK = 1 << 16


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


class KernelOutput:
    """A pipe for a kernel's standard output and error (``write_fd``), drained into the file
    descriptor ``sink``. ``close_writer()`` once the kernel holds its copy; ``finish()`` once it
    has ended. With ``close_sink`` the sink is closed once all is written: a writer that outlives
    ``finish`` cannot have the drain write, later, into whatever file then has that number."""

    def __init__(self, sink=2, head=HEAD, tail=TAIL, what="the kernel's output", close_sink=False):
        self.sink, self.head, self.tail, self.what, self.close_sink = sink, head, tail, what, close_sink
        self.read_fd, self.write_fd = os.pipe()
        self.thread = threading.Thread(target=self._drain, name="kernel-output", daemon=True)
        self.thread.start()

    def _drain(self):
        written, dropped, last = 0, 0, bytearray()
        try:
            while chunk := os.read(self.read_fd, _CHUNK):
                if written < self.head:
                    kept = chunk[:self.head - written]
                    _write_all(self.sink, kept)
                    written += len(kept)
                    chunk = chunk[len(kept):]
                last += chunk
                if len(last) > self.tail:
                    dropped += len(last) - self.tail
                    del last[:len(last) - self.tail]
            if dropped:
                _write_all(self.sink, f"\n[{dropped} bytes of {self.what} were not kept]\n".encode())
            _write_all(self.sink, bytes(last))
        except OSError:  # the sink is gone: nothing left to keep
            pass
        finally:
            os.close(self.read_fd)
            if self.close_sink:
                os.close(self.sink)

    def close_writer(self):
        if self.write_fd is not None:
            os.close(self.write_fd)
            self.write_fd = None

    def finish(self, timeout=5.0):
        """Wait, at most ``timeout`` seconds, until every writer has closed the pipe and what is
        kept of it is written."""
        self.close_writer()
        self.thread.join(timeout)

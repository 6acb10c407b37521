"""Does the grader keep only the start and the end of what a kernel writes to its standard output
and error (autograder/sandbox/kernel_output.py)? With real kernels: tests/test_zygote.py."""
import os

from autograder.sandbox.kernel_output import KernelOutput


def test_the_start_and_end_are_kept_with_a_line_saying_how_much_was_not(tmp_path):
    sink = os.open(tmp_path / "sink", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    output = KernelOutput(sink=sink, head=1000, tail=500)
    data = b"<start>" + b"x" * 1_000_000 + b"<end>"
    for at in range(0, len(data), 7919):  # in pieces, as a kernel writes
        os.write(output.write_fd, data[at:at + 7919])
    output.finish()
    os.close(sink)
    assert not output.thread.is_alive()
    assert (tmp_path / "sink").read_bytes() == (data[:1000] + f"\n[{len(data) - 1500} bytes of the kernel's output "
                                                 f"were not kept]\n".encode() + data[-500:])


def test_a_short_output_is_kept_whole(tmp_path):
    sink = os.open(tmp_path / "sink", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    output = KernelOutput(sink=sink, head=1000, tail=500)
    os.write(output.write_fd, b"a kernel's own message: it could not start\n")
    output.finish()
    os.close(sink)
    assert (tmp_path / "sink").read_bytes() == b"a kernel's own message: it could not start\n"


def test_the_pipe_ends_only_when_every_writer_has_closed_it(tmp_path):
    sink = os.open(tmp_path / "sink", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    output = KernelOutput(sink=sink)
    kernel = os.dup(output.write_fd)  # the kernel's copy
    output.finish(timeout=0.3)
    assert output.thread.is_alive()  # still drained while the kernel may write
    os.write(kernel, b"late\n")
    os.close(kernel)
    output.thread.join(5)
    os.close(sink)
    assert not output.thread.is_alive() and (tmp_path / "sink").read_bytes() == b"late\n"

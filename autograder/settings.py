"""The grader's settings: traitlets, set in ``nbgrader_config.py`` or on the command line.

Each has one default, written here, and a help text. nbgrader reads them from the course's
``nbgrader_config.py`` (``c.Sandbox.mode = "rlimits"``) and from its command line
(``--Sandbox.mode=rlimits``); so does the harness, which passes them on to the nbgrader
processes it starts (``python -m autograder grade a01_santa_logreg --Sandbox.memory_mb=3072``).
The settings of nbgrader itself that the course relies on (``Execute.timeout``, the time a cell
may run) are nbgrader's, set in ``nbgrader_config.py``.
"""
from pathlib import Path

from traitlets import Bool, Enum, Float, Integer, Unicode
from traitlets.config import Configurable, PyFileConfigLoader
from traitlets.config.loader import KVArgParseConfigLoader

COURSE_ROOT = Path(__file__).resolve().parent.parent


class Sandbox(Configurable):
    """Where and how the student's kernel runs (``autograder/sandbox/``)."""

    mode = Enum(("bwrap", "rlimits", "off"), default_value="bwrap", help=(
        "bwrap: the kernel runs in Debian's bubblewrap, with the limits below (where bubblewrap cannot "
        "run, the grader warns and uses rlimits); rlimits: the limits only; off: neither (for debugging "
        "only: the student's code can then reach everything the grader can)")).tag(config=True)
    zygote = Bool(True, help=(
        "Fork each kernel, inside its own sandbox, from a kernel zygote that has imported what kernels "
        "import (where the grader runs as root with bubblewrap); False starts every kernel afresh")).tag(config=True)
    zygote_socket = Unicode("", help=(
        "The socket of the kernel zygote of the class being graded: set by the harness for the nbgrader "
        "processes it starts; empty starts kernels afresh")).tag(config=True)
    released = Unicode("", help=(
        "The folder whose files (notebooks excepted) enter the sandbox, read-only; empty: release/<assignment>/ "
        "of the course, for a kernel started in a folder named after the assignment")).tag(config=True)
    decoded_data = Unicode("", help=(
        "A folder of decoded data arrays (coursekit/decoded.py) that kernels see read-only, as "
        "COURSE_DECODED_DIR: set by the harness for the class it grades; empty: kernels read the data "
        "files themselves")).tag(config=True)
    keras_replay = Unicode("", help=(
        "A folder of Keras calls and figures recorded from the reference (coursekit/replay.py, "
        "coursekit/figures.py) that kernels see read-only, as COURSE_REPLAY_DIR: set by the harness for "
        "the class it grades (a kernel started before the folder exists sees none); empty: every call "
        "runs and every figure is drawn")).tag(config=True)
    keras_record = Unicode("", help=(
        "A folder the kernel may write, as COURSE_REPLAY_RECORD_DIR, to record its Keras calls and "
        "figures: set by the harness for its own run of the reference only")).tag(config=True)
    memory_mb = Integer(4096, help="Address space of the kernel (and of the nbgrader process grading it), "
                                   "in MiB, and, where kernels get a control group (see cgroup), the memory of "
                                   "the kernel's whole sandbox, its tmpfs included; 0 for no limit").tag(config=True)
    processes = Integer(1024, help="Processes the kernel's user may have (and tasks its control group may "
                                   "have, where it has one: see cgroup)").tag(config=True)
    file_mb = Integer(512, help="Size of the largest file the kernel may write, in MiB").tag(config=True)
    open_files = Integer(1024, help="Files the kernel may have open at once").tag(config=True)
    work_mb = Integer(1024, help="Size of the kernel's working folder (a tmpfs), in MiB").tag(config=True)
    tmp_mb = Integer(512, help="Size of the kernel's /tmp (a tmpfs), in MiB").tag(config=True)
    cgroup = Unicode("auto", help=(
        "Where each kernel gets a control group of its own that limits its whole sandbox (its processes' "
        "memory and its tmpfs files together to memory_mb, its tasks to processes, all its processes to one "
        "share of the processors where the cpu controller is; autograder/sandbox/cgroups.py): "
        "auto: below the grader's own group, in a cgroup v2 or v1 hierarchy it may write to; a path: a cgroup "
        "v2 folder delegated to the grader, with the memory controller enabled for its children; off: none. "
        "Without one, memory_mb limits each process's address space only, and the grader says so")).tag(config=True)

    def limits(self):
        """{name: value} of the limits, as the sandbox's policy reads them."""
        return {name: getattr(self, name) for name in ("memory_mb", "processes", "file_mb", "open_files",
                                                       "work_mb", "tmp_mb")}


class Grading(Configurable):
    """How the harness grades a class (``python -m autograder grade``)."""

    timeout = Float(600, help="Seconds one notebook may take to grade, in all; past them it is "
                              "stopped and marked timeout").tag(config=True)
    jobs = Integer(0, help="Submissions graded at once on this machine; 0: one per core").tag(config=True)
    tries = Integer(3, help="Times one submission is graded when the grader (not the submission) fails: a "
                            "worker lost or unable to run the harness, a grading process killed by the machine; "
                            "after the last, its row is 'error' with the reason and the command exits 1. On a "
                            "Dask cluster the scheduler also moves the submissions of a worker that dies, up to "
                            "its distributed.scheduler.allowed-failures").tag(config=True)
    profile = Unicode("", help=(
        "A file to which each stage of grading (the gate's copy, nbgrader, its kernel start and cells, "
        "feedback, the gradebook merge) appends its wall and CPU seconds, one JSON line each "
        "(autograder/profiling.py; read by benchmarks/profile_grading.py); empty: none")).tag(config=True)
    # A Dask cluster's scheduler and workers run, as their users, any function a client that
    # reaches them sends (Client.run): only TLS with client certificates keeps that to the
    # coordinator (README "Grading on a cluster").
    tls_ca_file = Unicode("", help=(
        "The certificate (PEM) of the authority that signed the Dask cluster's certificates: with "
        "Grading.tls_cert and Grading.tls_key, the coordinator reaches a --scheduler tls://HOST:PORT "
        "with TLS and a client certificate (dask scheduler/worker --tls-ca-file --tls-cert --tls-key)")
    ).tag(config=True)
    tls_cert = Unicode("", help="The coordinator's certificate (PEM) for a tls:// Dask scheduler, signed by "
                                "Grading.tls_ca_file").tag(config=True)
    tls_key = Unicode("", help="The private key (PEM) of Grading.tls_cert; empty: in the same file as the "
                               "certificate").tag(config=True)


def course_config(root=COURSE_ROOT, argv=()):
    """The course's configuration (its ``nbgrader_config.py``), with ``argv``'s ``--Class.trait=value``
    settings on top."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    if argv:
        config.merge(KVArgParseConfigLoader(list(argv)).load_config())
    return config


def as_arguments(config, classes=("Sandbox",)):
    """``config``'s settings of ``classes`` as command-line arguments for an nbgrader process."""
    arguments = []
    for name in classes:
        for trait, value in sorted(config.get(name, {}).items()):
            arguments.append(f"--{name}.{trait}={value}")
    return arguments

"""The student's kernel, started in a sandbox while nbgrader itself stays outside.

nbgrader runs a submission by starting a Jupyter kernel and sending it the notebook's cells. Here
that kernel is started by :class:`SandboxedKernelManager` inside Debian's bubblewrap (``bwrap``):

- only the assignment's released files (``release/<assignment>/``, without notebooks) enter,
  read-only, in a small writable working folder of its own; the data cache enters read-only;
  Python and its packages enter read-only; nothing else of the machine is there: no ``source/``,
  no gradebook, no other submission, no instructor's home or environment variables;
- no network (a network namespace of its own: even 127.0.0.1 is another host);
- its own process namespace: when the kernel ends, every process it started ends with it; its
  ``/proc`` is read-only (the kernel cannot reset the memory peak the grader reads there);
- a user without privileges (a uid of its own per kernel when the grader runs as root);
- limits on memory (address space), processes, file size and open files (``prlimit``); the
  working folder and ``/tmp`` are size-limited tmpfs, so a disk filler fills only them.

The kernel and nbgrader talk through Unix sockets in a folder both see (ZeroMQ's ``ipc``
transport), since the kernel has no network. The folder is the grader's (``scratch.SocketFolder``):
the kernel may make its sockets there while it starts, and nothing more once it is up, before any
code of the student runs. Where bubblewrap is missing or cannot run, :func:`sandbox_mode` says
``rlimits`` and the kernel runs with the limits only, after a warning.

This module is the policy: the bubblewrap command, the limits, the kernel's environment. The
settings come from ``autograder.settings.Sandbox`` (``c.Sandbox.mode``, ``c.Sandbox.memory_mb``,
...); ``kernel_manager.SandboxedKernelManager`` starts kernels with them, afresh or forked from
the kernel zygote (``zygote.py``): the same sandbox either way.
"""
import contextlib
import functools
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


MODES = ("bwrap", "rlimits", "off")
COURSE_ROOT = Path(__file__).resolve().parents[2]
HOME = "/home/student"
WORK = "/home/student/work"
MATPLOTLIB_FOLDER = "/home/student/.matplotlib"
# Variables of the grader's environment a kernel may see; everything else is left outside.
PASSED_ON = ("LANG", "LC_ALL", "COURSE_DATA_DIR", "NBGRADER_EXECUTION", "TF_CPP_MIN_LOG_LEVEL",
             "MPLBACKEND", "PYTHONHASHSEED", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "NUMPY_MADVISE_HUGEPAGE")
# Unless the grader's environment says otherwise: NumPy asks Linux for huge pages (madvise) for
# every array of 4 MiB or more. Where the kernel's transparent huge pages defragment on such a
# request (``defrag`` set to ``madvise``, a common default), each new large array can wait for
# memory to be compacted: on the course's test machine, a mistake that builds 12288 x 12288
# arrays spent 19.5 s of its 26.7 s in the system zeroing and compacting them, against 7.2 of
# 14.5 s with 4 KiB pages. Huge pages do save a little elsewhere (an a03 class, whose kernels
# hand large image arrays to TensorFlow, took about 4 % longer without them), but a stall for
# compaction has no bound: it grows with the memory a student's code makes and drops, and with
# how fragmented a busy grader's memory is.
KERNEL_DEFAULTS = {"NUMPY_MADVISE_HUGEPAGE": "0"}


@functools.lru_cache(maxsize=None)
def bwrap_problem():
    """Why bubblewrap cannot sandbox a kernel here, or '' when it can (tried once per process)."""
    bwrap = shutil.which("bwrap")
    if not bwrap:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap"
    try:
        probe = subprocess.run([bwrap, *_namespaces(), "--ro-bind", "/", "/", "--proc", "/proc",
                                "--remount-ro", "/proc", "--dev", "/dev", *_drop_privileges(), "true"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap could not start: {error}"
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces here: {probe.stderr.strip()[:300]}"
    return ""


def sandbox_mode(wanted):
    """The sandbox a kernel gets when ``wanted`` (``Sandbox.mode``) is asked for: ``bwrap`` where
    it works, else ``rlimits`` (with a warning), or ``off`` when asked for."""
    if wanted not in MODES:
        raise ValueError(f"Sandbox.mode must be one of {', '.join(MODES)}, not {wanted!r}")
    if wanted == "bwrap" and bwrap_problem():
        return "rlimits"
    return wanted


def _namespaces():
    # As root, bwrap keeps real uids (the kernel then drops to a user of its own, see below);
    # otherwise it maps the caller's uid in a user namespace.
    user = [] if os.geteuid() == 0 else ["--unshare-user"]
    return [*user, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent"]


def _zygote_namespaces():
    """The kernel zygote's (``zygote.py``): a mount namespace laid out as a kernel's and
    no network, but the machine's pid namespace and root's capabilities, which joining a kernel's
    sandbox takes."""
    return ["--unshare-net", "--unshare-ipc", "--unshare-uts", "--die-with-parent", "--cap-add", "ALL"]


def _drop_privileges():
    """Inside the sandbox, when the grader is root: become a user of its own (uid 100000 + the
    grading process's pid, so that one kernel's process limit is not another's), no groups, no
    capabilities."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return []
    uid = kernel_uid()
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


def resource_limits(limits):
    """The course's limits as resource limits: {name of RLIMIT_<name>: value}."""
    mib = 1024 * 1024
    values = {"NPROC": limits["processes"], "FSIZE": limits["file_mb"] * mib, "NOFILE": limits["open_files"]}
    if limits["memory_mb"]:
        values["AS"] = limits["memory_mb"] * mib
    return values


def limits_prefix(limits):
    settings = [f"--{name.lower()}={value}" for name, value in resource_limits(limits).items()]
    return ["prlimit", *settings, "--"] if shutil.which("prlimit") else []


def _python_roots():
    """Folders Python and its packages live in (read-only in the sandbox)."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    return sorted({str(r) for r in roots if r.is_dir()})


def _read_only_system():
    args = []
    for top in ("usr", "etc"):
        args += ["--ro-bind", f"/{top}", f"/{top}"]
    for link in ("bin", "sbin", "lib", "lib64", "lib32"):
        path = Path("/") / link
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def _data_folders(env):
    folders = [env.get("COURSE_DATA_DIR"), os.environ.get("COURSE_DATA_DIR"), env.get("COURSE_DECODED_DIR"),
               env.get("COURSE_REPLAY_DIR")]
    return sorted({str(Path(f).resolve()) for f in folders if f and Path(f).is_dir()})


def _parents(paths):
    """``--dir`` for every folder above the bound paths, readable by all (bwrap makes them 0700)."""
    folders = sorted({str(parent) for path in paths for parent in Path(path).parents if str(parent) != "/"},
                     key=lambda f: (f.count("/"), f))
    args = []
    for folder in folders:
        args += ["--perms", "0755", "--dir", folder]
    return args


def cache_root():
    """The grader's cache folder for what kernels can share read-only."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "course-autograder"


@functools.lru_cache(maxsize=None)
def matplotlib_font_lists():
    """matplotlib's lists of the fonts a kernel in the sandbox sees (``fontlist-v*.json``), made
    once for each matplotlib version on this machine; () where they cannot be made.

    A kernel's matplotlib folder is new each time, so without them every kernel scans the fonts
    again on its first plot (0.2 s and more). They are made as a kernel would make them: by
    matplotlib itself, with a home folder and an environment as empty as the sandbox's.
    """
    try:
        folder = cache_root() / f"matplotlib-{importlib.metadata.version('matplotlib')}"
        lists = sorted(folder.glob("fontlist-v*.json"))
        if lists:
            return tuple(lists)
        folder.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=folder.parent, prefix=".making-") as making:
            made = Path(making) / "matplotlib"
            made.mkdir()
            subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], check=True, timeout=300,
                           capture_output=True, env={"HOME": making, "MPLCONFIGDIR": str(made),
                                                     "PATH": "/usr/local/bin:/usr/bin:/bin",
                                                     "PYTHONNOUSERSITE": "1"})
            if not list(made.glob("fontlist-v*.json")):
                return ()
            with contextlib.suppress(OSError):  # another process made them first
                os.rename(made, folder)
        return tuple(sorted(folder.glob("fontlist-v*.json")))
    except (OSError, ValueError, importlib.metadata.PackageNotFoundError, subprocess.SubprocessError):
        return ()


def bwrap_command(kernel_cmd, released, ipc_folder, connection_file, env, limits, font_lists=(), zygote=False):
    """The command that starts ``kernel_cmd`` in bubblewrap (see the module's docstring);
    ``font_lists`` enter the kernel's matplotlib folder read-only. With ``zygote``, the same
    layout for the kernel zygote (no connection file, no limits, no user of its own)."""
    # /proc read-only: a kernel cannot reset the memory peak Linux keeps for it (clear_refs), which
    # the grader reads (decisions/kernel_memory.py), nor write any other file there.
    args = ["bwrap", *(_zygote_namespaces() if zygote else _namespaces()), *_read_only_system(),
            "--proc", "/proc", "--remount-ro", "/proc", "--dev", "/dev",
            "--perms", "1777", "--size", str(limits["tmp_mb"] * 1024 * 1024), "--tmpfs", "/tmp",
            "--perms", "0777", "--size", str(limits["work_mb"] * 1024 * 1024), "--tmpfs", HOME]
    if font_lists:
        args += ["--perms", "0777", "--dir", MATPLOTLIB_FOLDER]
        for path in font_lists:
            args += ["--ro-bind", str(path), f"{MATPLOTLIB_FOLDER}/{Path(path).name}"]
    bound = _python_roots() + _data_folders(env)
    writable = [env["COURSE_REPLAY_RECORD_DIR"]] if Path(env.get("COURSE_REPLAY_RECORD_DIR") or "/-").is_dir() else []
    args += _parents(bound + writable + [str(ipc_folder)] + ([connection_file] if connection_file else []))
    for folder in bound:
        args += ["--ro-bind", folder, folder]
    for folder in writable:  # the grader's own run of the reference records its Keras calls here
        args += ["--bind", folder, folder]
    args += ["--perms", "0777", "--dir", WORK]
    if released and Path(released).is_dir():
        for entry in sorted(Path(released).iterdir()):
            if entry.suffix != ".ipynb" and entry.name not in ("__pycache__", ".ipynb_checkpoints"):
                args += ["--ro-bind", str(entry), f"{WORK}/{entry.name}"]
    args += ["--bind", str(ipc_folder), str(ipc_folder)]
    if connection_file:
        args += ["--ro-bind", connection_file, connection_file]
    args += ["--chdir", WORK, "--clearenv"]
    for name, value in sorted(env.items()):
        args += ["--setenv", name, value]
    if zygote:
        return args + ["--", *kernel_cmd]
    return limits_prefix(limits) + args + ["--", *_drop_privileges(), *kernel_cmd]


def kernel_uid():
    """The user a kernel started by this process runs as, where the grader is root."""
    return 100000 + os.getpid()


def kernel_environment(env):
    """The environment a kernel gets: the few variables it needs, nothing of the grader's."""
    kept = {**KERNEL_DEFAULTS, **{name: env[name] for name in PASSED_ON if name in env}}
    kept.update(HOME=HOME, PATH="/usr/local/bin:/usr/bin:/bin", IPYTHONDIR=f"{HOME}/.ipython",
                MPLCONFIGDIR=MATPLOTLIB_FOLDER, KERAS_HOME=f"{HOME}/.keras",
                PYTHONDONTWRITEBYTECODE="1", PYTHONNOUSERSITE="1")
    return kept


def describe(wanted="bwrap"):
    """One line on the sandbox student code gets on this machine (printed by ``make test``)."""
    mode = sandbox_mode(wanted)
    if mode == "bwrap":
        user = "a uid of its own" if os.geteuid() == 0 else "a user namespace"
        return (f"sandbox: bubblewrap ({shutil.which('bwrap')}): own mount, pid, network, ipc and uts "
                f"namespaces, no network, {user}; prlimit {'yes' if shutil.which('prlimit') else 'no'}")
    if mode == "rlimits":
        return f"sandbox: resource limits only ({bwrap_problem()})"
    return "sandbox: off"


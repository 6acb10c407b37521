"""The kernel zygote: a process that has imported what kernels import, and forks kernels.

Starting a kernel costs a Python start-up and the imports of ipykernel, NumPy and matplotlib
(about 1.2 s of CPU), and of Keras and TensorFlow where an assignment uses them (about 5 s).
Every student's kernel pays them again. The zygote pays them once per class: it imports those
modules and nothing else, runs no student code, and for each kernel forks a child that moves
into that student's sandbox and becomes the kernel there (``zygote.py`` is the
side that asks).

It also holds the grader's agent (``decisions/wire.py``), installed as a kernel's first test cell
would install it, from a file of its own folder: kernels forked from it have it from their start.

It runs in a bubblewrap sandbox laid out as a kernel's (the same read-only system, Python, data
and ``/home/student``, the same environment), so that what the imports read and cache is what a
kernel would read. It is started as ``python -c SOURCE SOCKET MODULE...`` and uses the
standard library only: the course's own packages are not in the sandbox. Bubblewrap ends it
when the harness ends.

For each request on its Unix socket (a JSON object, with the kernel's stdout and stderr, a file
for its usage, the sandbox's namespaces and the ``cgroup.procs`` files of the kernel's control
group, if any, as file descriptors) it forks a child that:

1. joins the sandbox's namespaces (network, IPC, UTS, cgroup, pid, then mount) and goes to the
   working folder; the mount namespace's root is the sandbox's root;
2. forks again, so that the kernel is inside the sandbox's pid namespace: it ends when the
   sandbox ends; once the kernel says it is set up, the first child reports its pid and exits;
3. in the kernel: enters the kernel's control group (``cgroups.py``: the memory of the whole
   sandbox, tmpfs included), closes every other file, sets the sandbox's resource limits, drops to the
   sandbox's user (no groups, no capabilities in any set, no new privileges), takes the
   kernel's environment and new random seeds, says it is set up, then runs ipykernel as
   ``python -m ipykernel_launcher`` would, with the request's options.

A request is refused, and anything that fails is reported, so that the asking side starts the
kernel afresh: where the kernel's environment differs from the one the zygote imported in
(``RUN_TIME_ONLY`` apart), or a step above fails. The kernel is not a child of the grading
process, so its peak memory would be lost: the zygote is its subreaper, reaps it, and writes
that to the file the request gave.
"""
import ctypes
import gc
import json
import os
import resource
import select
import signal
import socket
import sys

PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_CAPBSET_DROP = 24
CAP_VERSION_3 = 0x20080522
# What the zygote's environment may differ in from a kernel's: only what no import reads.
RUN_TIME_ONLY = ("NBGRADER_EXECUTION", "COURSE_DECODED_DIR", "COURSE_REPLAY_DIR",  # read when used, never at import
                 "COURSE_REPLAY_RECORD_DIR")
NAMESPACE_ORDER = ("net", "ipc", "uts", "cgroup", "pid", "mnt")
# The grader's agent, in the zygote's folder beside its socket (``zygote.py`` writes it), and the
# names a test cell installs it under (``decisions/cell.py``'s INSTALL, ``wire.AGENT_FILE``).
AGENT, AGENT_MODULE, AGENT_FILE = "agent.py", "__course_agent__", "<course-agent>"

_libc = ctypes.CDLL(None, use_errno=True)


def _check(result, what):
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{what}: {os.strerror(error)}")


def _clear_capabilities():
    """No capability left in the effective, permitted or inheritable set."""
    header = (ctypes.c_uint32 * 2)(CAP_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()  # two structs of (effective, permitted, inheritable), all zero
    _check(_libc.capset(header, data), "capset")


def _drop_privileges(uid):
    if os.geteuid() == 0:
        last = int(open("/proc/sys/kernel/cap_last_cap").read())
        for cap in range(last + 1):
            _check(_libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), "drop capability bounding set")
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _clear_capabilities()
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _set_limits(rlimits):
    """``rlimits``: {name of RLIMIT_<name>: value}, as ``sandbox.resource_limits`` gives them."""
    for name, value in rlimits.items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name}"), (value, value))


def _prepare_kernel(request, out, err, ready, cgroups=()):
    """Control group, files, limits, user and environment of the kernel-to-be (see the module's
    docstring); ``cgroups``: descriptors of its group's ``cgroup.procs`` files."""
    for fd in cgroups:  # first: what it holds from now on is counted there ("0": the writer itself)
        os.write(fd, b"0")
        os.close(fd)
    os.dup2(out, 1)
    os.dup2(err, 2)
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.closerange(3, ready)
    os.closerange(ready + 1, 1 << 16)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _set_limits(request["rlimits"])  # first: only root may raise a hard limit
    _drop_privileges(request["uid"])
    os.environ.clear()
    os.environ.update(request["env"], PWD=request["cwd"])  # PWD: as bubblewrap's --chdir sets it
    os.environ.update(request["set_by_imports"])  # as in a kernel that imported those modules
    sys.dont_write_bytecode = True
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"], *request.get("options", [])]
    sys.path[:] = [p for p in sys.path if p not in ("", ".")]  # as ipykernel_launcher leaves it
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # a new kernel draws its own seed; Python's random reseeds at fork


def _become_kernel(request, out, err, ready, cgroups=()):
    """In the sandbox, in its pid namespace: become the student's kernel (never returns). Pipe
    ``ready`` gets "ok" once the kernel is set up, or what went wrong (the kernel then ends at
    once, and the asking side starts one afresh)."""
    try:
        _prepare_kernel(request, out, err, ready, cgroups)
    except BaseException as error:  # noqa: BLE001 - reported to the asking side
        try:
            os.write(ready, f"{type(error).__name__}: {error}".encode()[:2000] or b"error")
        finally:
            os._exit(1)
    os.write(ready, b"ok")
    os.close(ready)
    code = 1
    try:
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:  # noqa: BLE001 - reported on the kernel's stderr, which nbgrader's log keeps
        import traceback

        traceback.print_exc()
    finally:
        try:
            import atexit

            atexit._run_exitfuncs()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _serve_one(report, request, fds):
    """In the first child: join the sandbox, fork the kernel, report its pid (on pipe ``report``)
    once it is set up, exit."""
    try:
        out, err, _, *rest = fds
        count = len(request["namespaces"])
        namespaces, cgroups = rest[:count], rest[count:]
        for _, fd in sorted(zip(request["namespaces"], namespaces),
                            key=lambda pair: NAMESPACE_ORDER.index(pair[0])):
            _check(_libc.setns(fd, 0), "setns")
            os.close(fd)
        os.chdir(request["cwd"])
        readable, ready = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(report)
            os.close(readable)
            _become_kernel(request, out, err, ready, cgroups)
        os.close(ready)
        state = _read_all(readable).decode(errors="replace")
        if state != "ok":
            raise RuntimeError(f"the kernel could not be set up: {state or 'it ended'}")
        os.write(report, json.dumps({"pid": pid}).encode())
        os._exit(0)
    except BaseException as error:  # noqa: BLE001 - reported to the asking side, which starts a kernel itself
        try:
            os.write(report, json.dumps({"error": f"{type(error).__name__}: {error}"}).encode())
        finally:
            os._exit(1)


def _read_all(fd):
    data = b""
    while chunk := os.read(fd, 65536):
        data += chunk
    return data


def _reap(kernels):
    """Reap the first children and the kernels (this process is their subreaper); write each
    kernel's peak memory to the file its request gave for it."""
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return
        if pid in kernels:
            fd = kernels.pop(pid)
            try:
                os.write(fd, json.dumps({"peak_kib": usage.ru_maxrss}).encode())
            except OSError:
                pass
            os.close(fd)


def _handle(conn, listener, kernels, before, forked):
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 16)
    try:
        request = json.loads(message.decode())
        if request == {"count": True} and not fds:
            conn.sendall(json.dumps({"kernels": forked[0],
                                     "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}).encode())
            return
        problem = _refusal(request, before) or (
            "" if len(fds) == 3 + len(request["namespaces"]) + int(request.get("cgroups", 0))
            else "the wrong number of file descriptors")
    except (ValueError, UnicodeDecodeError) as error:
        problem = f"a request that is not JSON ({error})"
    answer = {"refused": problem}
    if not problem:
        request["set_by_imports"] = {k: v for k, v in os.environ.items() if before.get(k) != v}
        readable, report = os.pipe()
        child = os.fork()
        if child == 0:
            listener.close()
            conn.close()
            os.close(readable)
            _serve_one(report, request, fds)
        os.close(report)
        data = _read_all(readable)
        os.close(readable)
        try:
            answer = json.loads(data.decode())
        except ValueError:
            answer = {"error": "the zygote's child ended without an answer"}
        if "pid" in answer:
            kernels[answer["pid"]] = os.dup(fds[2])
            forked[0] += 1
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps(answer).encode())


def _refusal(request, before):
    if not isinstance(request, dict) or not {"env", "uid", "rlimits", "cwd", "connection_file",
                                             "namespaces"} <= set(request):
        return "a malformed request"
    if type(request.get("cgroups", 0)) is not int or not 0 <= request.get("cgroups", 0) <= 3:
        return "a malformed request"
    mine = {k: v for k, v in before.items() if k not in RUN_TIME_ONLY and k != "PWD"}
    theirs = {k: v for k, v in request["env"].items() if k not in RUN_TIME_ONLY}
    if mine != theirs:
        names = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        return "the kernel's environment differs from the zygote's in " + ", ".join(names)
    return ""


def _install_agent(path):
    """The grader's agent (``decisions/wire.py``), from the file ``path`` of the zygote's own
    folder, installed as a kernel's first test cell installs it (``decisions/cell.py``: the module
    ``__course_agent__``, compiled under the name error reports leave out): each kernel then has
    it from its start, and its first test cell only starts it. Nothing if the file is missing or
    does not run: that cell installs it then."""
    import types

    try:
        with open(path, encoding="utf-8") as handle:
            code = compile(handle.read(), AGENT_FILE, "exec")
        module = types.ModuleType(AGENT_MODULE)
        exec(code, module.__dict__)  # noqa: S102 - the grader's own file: it defines, and runs nothing
    except Exception:  # noqa: BLE001 - as above
        return
    sys.modules[AGENT_MODULE] = module


def serve(path, modules):
    before = dict(os.environ)  # the environment a kernel starts with; imports may add to it
    for name in modules:
        try:
            __import__(name)
        except Exception:  # noqa: BLE001 - a module that does not import is imported, or not, by the kernel itself
            pass
    _install_agent(os.path.join(os.path.dirname(path), AGENT))
    # What the imports made (NumPy, matplotlib, IPython, TensorFlow and Keras where wanted) is put
    # out of the cyclic garbage collector's sight: a kernel's full collections walk only what it
    # makes itself, and leave the pages it shares with the zygote unwritten.
    gc.freeze()
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "subreaper")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".new")
    listener.listen(64)
    os.rename(path + ".new", path)  # the socket appears once it can be used
    kernels = {}  # pid -> the file its peak memory goes to
    forked = [0]  # kernels forked so far
    while True:
        _reap(kernels)
        readable, _, _ = select.select([listener], [], [], 0.05)  # ended kernels are reaped at once
        if not readable:
            continue
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(30)
            try:
                _handle(conn, listener, kernels, before, forked)
            except OSError:
                pass


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2:])

"""The course as a class on JupyterHub, on this machine: real Unix accounts for one instructor and
the students, nbgrader's exchange in a shared folder, and each account's Jupyter set up for its role.

    python admin/hub/classhub.py up     # `make hub`: create what is missing, run the hub until Ctrl-C
    python admin/hub/classhub.py down   # remove the accounts `up` created, their homes, the class folder

Runs as root: it creates accounts, and the hub starts each user's server as that user.

What `up` makes (the README's "A class on JupyterHub" says how to use it; jupyterhub_config.py
says how the hub is set up):

- accounts: the instructor and the students, each with a home folder only they can open (0700) and
  a password (PAM logs them in to the hub); the instructor's course directory is ``~/course``, a
  copy of this repository's course files, also 0700, so no student reads ``source/``, the
  gradebook or ``submitted/``;
- the class folder (``--folder``): ``exchange/`` (nbgrader's exchange root: everyone may create in
  it, sticky, 1777), ``hub/`` (the hub's database, cookie secret and log; root only) and
  ``class.json``, the settings ``jupyterhub_config.py`` reads;
- where the venv's Python is out of the accounts' reach, a runtime they can run, kept in
  /var/cache/nn-course-hub/ (:func:`runtime_prefix`);
- each account's ``~/.jupyter``: the files of ``roles/student/`` or ``roles/instructor/``, which are
  what ``jupyter labextension enable|disable --level=user`` and ``jupyter server extension
  enable|disable --user`` write, plus the role's ``nbgrader_config.py``.
"""
import argparse
import contextlib
import hashlib
import json
import os
import platform
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
COURSE_ID = "nn-image-classification"
PROXY = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
# The repository's course files that go into the instructor's course directory; the rest of the
# repository (the project's own tests, benchmarks, this folder) is not the course.
NOT_COURSE = ("tests/", "benchmarks/", "admin/hub/", ".ci/")


@dataclass
class ClassHub:
    """One class: its accounts, its folder and the ports of its hub on 127.0.0.1: the public one
    (the proxy's), the hub's own and the proxy's API. A port 0 is chosen free at each start
    (:func:`start_until_up`)."""

    folder: Path
    instructor: str
    students: list
    port: int = 8000
    hub_port: int = 0
    proxy_api_port: int = 0
    course_id: str = COURSE_ID
    data_dir: str = field(default_factory=lambda: os.environ.get("COURSE_DATA_DIR", ""))

    def __post_init__(self):
        self.folder = Path(self.folder)

    @property
    def users(self):
        return [self.instructor, *self.students]

    @property
    def exchange(self):
        return self.folder / "exchange"

    @property
    def state(self):
        return self.folder / "hub"

    @property
    def settings_file(self):
        return self.folder / "class.json"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def home(self, user):
        return Path(pwd.getpwnam(user).pw_dir)

    def course_dir(self):
        return self.home(self.instructor) / "course"

    def server_env(self, runtime):
        """The environment of every user's server (and so of their terminals and kernels), less
        TMPDIR, which is each user's own (:func:`private_tmpdir`)."""
        env = {
            "PATH": f"{runtime / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "NBGRADER_EXCHANGE": str(self.exchange),
            "NBGRADER_COURSE_ID": self.course_id,
        }
        if self.data_dir:
            env["COURSE_DATA_DIR"] = self.data_dir
        return env


# ---------------------------------------------------------------------------------------------
# accounts


def account_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def create_account(name, password):
    """A real Unix account with a home only its owner may open, and a password for PAM."""
    subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name], check=True)
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)


def processes_of(name):
    """Process ids of the living processes that run as account ``name`` (zombies, already dead,
    wait for a parent to reap them and are left out)."""
    uid = pwd.getpwnam(name).pw_uid
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                    pids.append(int(entry.name))
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return pids


def remove_account(name):
    """Remove an account this module created, after ending its processes (by process id)."""
    if not account_exists(name):
        return
    for sig, patience in ((signal.SIGTERM, 3), (signal.SIGKILL, 2)):
        pids = processes_of(name)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + patience
        while pids and processes_of(name) and time.monotonic() < deadline:
            time.sleep(0.1)
    # --force: a zombie of the account's (dead, not yet reaped) must not keep the account alive
    subprocess.run(["userdel", "--remove", "--force", name], check=False,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["groupdel", name], check=False, stderr=subprocess.DEVNULL)


def private_tmpdir(name):
    """Each account's own folder for temporary files, ``~/.tmp`` (0700), as Debian's libpam-tmpdir
    gives each user on a shared machine: nothing of a student's in a /tmp that all can list, and
    no program of one account trips over a same-named folder another account made in /tmp."""
    return Path(pwd.getpwnam(name).pw_dir) / ".tmp"


def chown_tree(path, name):
    """Give ``path`` and everything in it to account ``name``; only for a tree root made (the
    instructor's course copy): the top is followed if it is a link, and nothing else."""
    entry = pwd.getpwnam(name)
    for folder, dirs, files in os.walk(path):
        os.chown(folder, entry.pw_uid, entry.pw_gid)
        for item in dirs + files:
            os.lchown(os.path.join(folder, item), entry.pw_uid, entry.pw_gid)


# What set-up writes into an account's home is written by that account (runuser), never by root:
# the home is its owner's, who may have put a link where a file or folder is expected (~/.tmp ->
# /home/instructor, ~/.jupyter/x.py -> /etc/passwd), and root would follow it on the next `up`.
# As the account, a link leads only where that account may write anyway.

def private_folder_as(name, folder):
    """Make ``folder`` (0700) as account ``name``; False, with a warning, where it cannot."""
    done = subprocess.run(["runuser", "-u", name, "--", "sh", "-c", 'mkdir -p -m 700 -- "$1" && chmod 700 -- "$1"',
                           "sh", str(folder)], capture_output=True, text=True)
    if done.returncode:
        print(f"warning: {folder} could not be made as {name}: {done.stderr.strip()}", file=sys.stderr)
    return done.returncode == 0


def write_as(name, target, data):
    """Write ``data`` (bytes) to ``target`` as account ``name``, its folders made as needed; False,
    with a warning, where it cannot."""
    done = subprocess.run(["runuser", "-u", name, "--", "sh", "-c",
                           'umask 022 && mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', "sh", str(target)],
                          input=data, capture_output=True)
    if done.returncode:
        print(f"warning: {target} could not be written as {name}: {done.stderr.decode(errors='replace').strip()}",
              file=sys.stderr)
    return done.returncode == 0


def configure_jupyter(name, role):
    """Install the role's Jupyter configuration into the account's own ~/.jupyter (as that account)."""
    jupyter = Path(pwd.getpwnam(name).pw_dir) / ".jupyter"
    roles = HERE / "roles" / role
    for source in sorted(roles.rglob("*")):
        if source.is_file():
            write_as(name, jupyter / source.relative_to(roles), source.read_bytes())


# What of the repository no student may read: the hidden tests and reference answers, the
# gradebook, students' work. The hub runs from the repository; the instructor's ~/course is a copy.
NOT_FOR_STUDENTS = ("source", "assignments", "gradebook.db", "submitted", "autograded", "feedback", "demo-output")


def open_to_others(path):
    """Whether an account without privileges can reach ``path``: searchable (a folder) or
    readable (a file) by others, on a way they can search (:func:`usable_by_everyone`)."""
    return usable_by_everyone(path, 0o001 if Path(path).resolve().is_dir() else 0o004)


def exposed_to_students(repo=None):
    """The entries of :data:`NOT_FOR_STUDENTS` in ``repo`` (this repository) that other accounts can reach."""
    repo = Path(repo or REPO)
    return [name for name in NOT_FOR_STUDENTS if (repo / name).exists() and open_to_others(repo / name)]


def course_files():
    """The repository's course files (tracked or new, not ignored), relative to the repository."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                            cwd=REPO, check=True, capture_output=True).stdout.decode().split("\0")
    return [p for p in listed if p and not p.startswith(NOT_COURSE) and (REPO / p).is_file()]


def copy_course(instructor):
    """A copy of the course in the instructor's home (``~/course``, 0700, theirs)."""
    course = Path(pwd.getpwnam(instructor).pw_dir) / "course"
    for relative in course_files():
        target = course / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / relative, target)
    course.chmod(0o700)
    chown_tree(course, instructor)
    return course


# ---------------------------------------------------------------------------------------------
# the Python every account runs


def usable_by_everyone(path, permission=0o001):
    """Whether an account without privileges can run ``path`` (or use it as ``permission``, the
    others' bit asked for): every folder on the way (after links) searchable by others, and
    ``path`` executable (or so) by others."""
    path = Path(path).resolve()
    for folder in reversed(path.parents):
        if not folder.stat().st_mode & 0o001:
            return False
    return bool(path.stat().st_mode & permission)


def link_file(origin, copy):
    """``copy``: a hard link to the file ``origin`` (a plain copy across file systems), or the
    same link where ``origin`` is a symbolic link."""
    if origin.is_symlink():
        copy.symlink_to(os.readlink(origin))
        return
    try:
        os.link(origin, copy)
    except OSError:
        shutil.copy2(origin, copy)


def link_tree(source, target, skip=()):
    """``target``: a copy of the folder ``source`` made by :func:`link_file`, without the folders
    of ``source`` named in ``skip`` (paths relative to it)."""
    source, target = Path(source), Path(target)
    if not skip and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if subprocess.run(["cp", "-al", str(source), str(target)], capture_output=True).returncode == 0:
            return  # (GNU cp: several times faster than the loop below)
        shutil.rmtree(target, ignore_errors=True)
    for folder, dirs, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        dirs[:] = [d for d in dirs if str(relative / d) not in skip]
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            link_file(Path(folder) / name, target / relative / name)


RUNTIME_CACHE = Path("/var/cache/nn-course-hub")


def runtime_key(venv):
    """What the runtime copies: this interpreter and the venv's installed distributions."""
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    names = sorted(p.name for p in site.iterdir() if p.name.endswith(".dist-info"))
    text = "\n".join([sys.version, str(venv.resolve()), *names])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def running_from(folder):
    """Whether a process of this machine runs a program inside ``folder`` (its executable there)."""
    folder = Path(folder).resolve()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError):
                if Path(os.readlink(entry / "exe")).is_relative_to(folder):
                    return True
    return False


def remove_stale_runtimes(cache, keep):
    """Remove the runtimes in ``cache`` other than ``keep`` (and their unfinished builds) that no
    process runs from. Another course's hub on this machine, from a virtual environment of other
    packages, runs from a runtime of another key: removed under it, its servers and kernels could
    no longer start."""
    for stale in cache.glob("runtime-*"):
        if stale.name not in (keep.name, keep.name + ".partial") and not running_from(stale):
            shutil.rmtree(stale, ignore_errors=True)


def runtime_prefix(cache=RUNTIME_CACHE):
    """The Python environment the accounts' servers, kernels and nbgrader run: this course's
    virtual environment where every account can run its interpreter, else a runtime made for them,
    kept in ``cache/runtime-<key>`` (the key changes with the venv's packages; a runtime of another
    key is removed when a new one is made, unless a process runs from it: :func:`remove_stale_runtimes`).

    Where the venv's interpreter lives where accounts cannot go (a pyenv Python under /root, as on
    the course's CI machines), the runtime is the same Python and the same packages in a folder
    every account can read: ``base/`` holds the venv's base interpreter (a copy whose library
    search path, which names the base's own folder, now says ``$ORIGIN/../lib``) and hard links to
    its standard library; the runtime itself is a virtual environment on it whose site-packages,
    etc/jupyter and share/jupyter are hard links to the venv's (plain copies across file systems:
    no extra space on one file system). The grader's sandbox then finds everything under
    ``sys.prefix`` and ``sys.base_prefix``, as with the venv itself. It must be the same
    interpreter, not the system's: Debian's 3.11.2 has regular-expression bugs that break
    soupsieve, and so nbconvert's HTML (feedback pages, the formgrader).
    """
    venv = Path(sys.prefix)
    if usable_by_everyone(venv / "bin" / "python"):
        return venv
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    cache.chmod(0o755)
    runtime = cache / f"runtime-{runtime_key(venv)}"
    if (runtime / "pyvenv.cfg").exists():
        return runtime
    remove_stale_runtimes(cache, keep=runtime)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix)
    building = runtime.with_name(runtime.name + ".partial")
    shutil.rmtree(building, ignore_errors=True)
    # the base interpreter, its shared library and its standard library (not its own packages)
    (building / "base" / "bin").mkdir(parents=True)
    interpreter = Path(sys.executable).resolve()
    binary = interpreter.read_bytes()
    own_lib = str(base / "lib").encode() + b"\0"
    if binary.count(own_lib) == 1:  # its RUNPATH: point it at the copy's lib/ instead
        binary = binary.replace(own_lib, b"$ORIGIN/../lib".ljust(len(own_lib), b"\0"))
    (building / "base" / "bin" / version).write_bytes(binary)
    (building / "base" / "bin" / version).chmod(0o755)
    (building / "base" / "lib").mkdir()
    for library in (base / "lib").glob("libpython*.so*"):
        link_file(library, building / "base" / "lib" / library.name)
    link_tree(base / "lib" / version, building / "base" / "lib" / version, skip={"site-packages", "test"})
    # the virtual environment: the venv's packages and Jupyter files on that interpreter
    (building / "bin").mkdir()
    for name in ("python", "python3", version):
        (building / "bin" / name).symlink_to(Path("..") / "base" / "bin" / version)
    (building / "pyvenv.cfg").write_text(f"home = {runtime / 'base' / 'bin'}\ninclude-system-site-packages = false\n"
                                         f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
    for part in (f"lib/{version}/site-packages", "etc/jupyter", "share/jupyter"):
        if (venv / part).exists():
            link_tree(venv / part, building / part)
    # the venv's scripts, each naming the runtime's interpreter instead of the venv's
    shebang = f"#!{venv / 'bin' / 'python'}".encode()
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            first, _, rest = script.read_bytes().partition(b"\n")
            if first.startswith(shebang):
                target = building / "bin" / script.name
                target.write_bytes(f"#!{runtime / 'bin' / 'python'}".encode() + first[len(shebang):] + b"\n" + rest)
                target.chmod(0o755)
    os.chmod(building, 0o755)
    building.rename(runtime)
    # the proof: an account without privileges runs it, as the same Python
    check = subprocess.run(["runuser", "-u", "nobody", "--", str(runtime / "bin" / "python"), "-c",
                            "import platform, jupyterhub; print(platform.python_version())"],
                           capture_output=True, text=True, cwd="/")
    if check.returncode or check.stdout.strip() != platform.python_version():
        shutil.rmtree(runtime, ignore_errors=True)
        raise RuntimeError(f"{runtime} does not run for other accounts: {check.stdout}{check.stderr}")
    return runtime


# ---------------------------------------------------------------------------------------------
# the class


def ensure_proxy():
    """JupyterHub's proxy (configurable-http-proxy) from npm, as package-lock.json pins it."""
    if not PROXY.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True)
    return PROXY


def free_ports(count):
    """``count`` different ports free on 127.0.0.1 now (nothing holds them once returned)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:  # all bound at once, so no two are the same
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def prepare_exchange(hub):
    """nbgrader's exchange root (1777, as nbgrader documents: everyone may create in it, nobody
    may remove what others made), and in it the course's own folder, made now for the instructor.

    nbgrader's first release_assignment would make that folder, and in it ``outbound`` (0755),
    ``inbound`` (2733: students may submit into it but not list it) and, with release_feedback,
    ``feedback`` (0711). Until then a student could make it first and own it: nbgrader then
    refuses to release ("You don't own the directory"). A course folder that is not the
    instructor's stops the set-up with a message instead of being used.
    """
    hub.exchange.mkdir(exist_ok=True)
    hub.exchange.chmod(0o1777)
    course, owner = hub.exchange / hub.course_id, pwd.getpwnam(hub.instructor)
    try:
        course.mkdir(mode=0o755)  # root's until it is the instructor's: nobody else can use it meanwhile
    except FileExistsError:
        info = os.lstat(course)
    else:
        os.chown(course, owner.pw_uid, owner.pw_gid)
        course.chmod(0o755)
        return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != owner.pw_uid:
        try:
            made_by = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            made_by = f"uid {info.st_uid}"
        raise SystemExit(f"{course} belongs to {made_by}, not to the instructor {hub.instructor}: another account "
                         f"made it before the course's first release. Look at it, remove it as root, and run up again.")


def set_up(hub, passwords, create=True):
    """Create the class: accounts (with ``passwords``), ~/.jupyter per role, the instructor's
    course directory, the exchange, the runtime and class.json. Returns the runtime prefix."""
    if os.geteuid() != 0:
        raise SystemExit("the class hub runs as root: it creates accounts and starts servers as them")
    hub.folder.mkdir(parents=True, exist_ok=True)
    hub.folder.chmod(0o755)
    if create:
        for user in hub.users:
            if not account_exists(user):
                create_account(user, passwords[user])
    for user in hub.users:
        private_folder_as(user, private_tmpdir(user))
    configure_jupyter(hub.instructor, "instructor")
    for student in hub.students:
        configure_jupyter(student, "student")
    if not hub.course_dir().exists():
        copy_course(hub.instructor)
    prepare_exchange(hub)
    hub.state.mkdir(exist_ok=True)
    hub.state.chmod(0o700)
    runtime = runtime_prefix()
    settings = {key: str(value) if isinstance(value, Path) else value for key, value in asdict(hub).items()}
    settings.update(state=str(hub.state), proxy=str(ensure_proxy()), runtime=str(runtime),
                    environment=hub.server_env(runtime))
    hub.settings_file.write_text(json.dumps(settings, indent=2) + "\n")
    return runtime


def start(hub, log):
    """Start the hub (as root, in the background); its output goes to the open file ``log``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JUPYTER", "NBGRADER"))}
    env["CLASS_HUB_SETTINGS"] = str(hub.settings_file)
    return subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(HERE / "jupyterhub_config.py")],
                            cwd=hub.state, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


PORTS = ("port", "hub_port", "proxy_api_port")  # ClassHub's, in class.json too


class HubExited(RuntimeError):
    """The hub stopped while it started."""


class PortHeld(HubExited):
    """Another program, not the hub's proxy, listens on the hub's public port."""


# The local addresses in /proc/net/tcp and tcp6 (hexadecimal, as the kernel writes them) whose
# listener answers connections to 127.0.0.1: 127.0.0.1 itself, 0.0.0.0, :: and ::ffff:127.0.0.1.
REACHES_LOOPBACK = {"0100007F", "00000000", "0" * 32, "0000000000000000FFFF00000100007F"}


def listeners(port):
    """The TCP sockets that listen on ``port`` where a connection to 127.0.0.1 reaches them, as
    (uid, pids): the socket's owner, from /proc/net/tcp and tcp6, and the processes that hold
    it, found by its inode in /proc/*/fd (all of them as root; none where it cannot look)."""
    inodes = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as rows:
            for row in list(rows)[1:]:
                fields = row.split()
                address, _, local_port = fields[1].partition(":")
                if fields[3] == "0A" and int(local_port, 16) == port and address in REACHES_LOOPBACK:
                    inodes[fields[9]] = (int(fields[7]), [])
    for entry in Path("/proc").iterdir() if inodes else ():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                for fd in os.scandir(entry / "fd"):
                    with contextlib.suppress(OSError):
                        link = os.readlink(fd.path)
                        if link.startswith("socket:[") and link[8:-1] in inodes:
                            inodes[link[8:-1]][1].append(int(entry.name))
    return list(inodes.values())


def descends_from(pid, ancestor):
    """Whether process ``pid`` is ``ancestor`` or one it started (or they started, and so on)."""
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


def port_held(port, held):
    """The error for ``held`` (:func:`listeners`), other programs listening on the public port.

    Whoever listens on 127.0.0.1:``port`` gets what the instructor and the students type into the
    hub's login page, their Unix passwords (PAM): a student's program there, started while the hub
    was down, would collect them. So the hub does not start beside it, and the error names it."""
    who = []
    for uid, pids in held:
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = f"uid {uid}"
        who.append(f"{name} (pid {', '.join(map(str, pids))})" if pids else f"{name} (its process not found)")
    pids = " ".join(str(pid) for _, found in held for pid in found) or "PID"
    return PortHeld(f"127.0.0.1:{port}, the hub's public port, is held by {'; '.join(who)}, not by the hub's proxy: "
                    f"whoever listens there gets the passwords typed into the login page. Stop that program (as "
                    f"root: kill {pids}; `classhub.py down` ends every process of the class's accounts, and "
                    f"removes them) and run up again, or choose another port with --port")


def start_until_up(hub, log, timeout=60, attempts=3):
    """Start the hub and wait until it answers; returns its process.

    Each port of ``hub`` that is 0 is chosen free just before the start. Nothing holds a port so
    chosen until the hub binds it, and another program may take it meanwhile: the hub then stops
    at once, saying the address is in use, and starts again on ports chosen afresh, ``attempts``
    times in all. A port given is kept; when it is in use the error says so. A public port given
    that another program listens on already is refused before the start, naming that program
    (:func:`port_held`): it would otherwise go on answering in the hub's place.
    """
    held = listeners(hub.port) if hub.port else []
    if held:
        raise port_held(hub.port, held)
    chosen = [name for name in PORTS if not getattr(hub, name)]
    for attempt in range(1, attempts + 1):
        for name, port in zip(chosen, free_ports(len(chosen))):
            setattr(hub, name, port)
        settings = json.loads(hub.settings_file.read_text())
        settings.update({name: getattr(hub, name) for name in PORTS})
        hub.settings_file.write_text(json.dumps(settings, indent=2) + "\n")
        log.flush()
        written = os.fstat(log.fileno()).st_size

        def said():
            """What the hub (and its proxy) logged since this start, in lower case."""
            log.flush()
            with open(log.name, "rb") as text:
                text.seek(written)
                return text.read().decode("utf-8", "replace").lower()

        process = start(hub, log)
        try:
            wait_until_up(hub, process, timeout, said)
            return process
        except HubExited as exited:
            stop(process)  # where only its proxy stopped, the hub runs on
            with contextlib.suppress(ProcessLookupError):  # the proxy it may have started
                os.killpg(process.pid, signal.SIGKILL)
            if isinstance(exited, PortHeld):
                if "port" in chosen and attempt < attempts:
                    continue
                raise
            text = said()
            if "address already in use" not in text and "eaddrinuse" not in text:
                raise
            if not chosen or attempt == attempts:
                ports = ", ".join(f"{name} {getattr(hub, name)}" for name in PORTS)
                hint = "" if "port" in chosen else "; if it is the one given, choose another with --port"
                raise HubExited(f"{exited}: a port it needs on 127.0.0.1 is in use ({ports}; see {log.name}){hint}"
                                ) from None
        except BaseException:  # Ctrl-C or a hub that does not answer: it stops
            stop(process)
            raise


def wait_until_up(hub, process, timeout=60, said=lambda: ""):
    """Wait until the hub answers on its public port, 127.0.0.1:``hub.port``.

    An answer counts only from the hub's own proxy: while the port was taken, the proxy stops
    (EADDRINUSE) but the hub runs on, and the program that took the port answers /hub/api/ as
    well as the hub would. So what listens there must be ``process`` or a process it started; a
    listener of another program, or a proxy that could not bind (``said``: the hub's log since
    this start), stops the wait at once (:class:`PortHeld`, :class:`HubExited`).
    """
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HubExited(f"the hub exited with status {process.returncode}")
        held = listeners(hub.port)
        others = [(uid, pids) for uid, pids in held if not any(descends_from(pid, process.pid) for pid in pids)]
        if others:
            raise port_held(hub.port, others)
        if "eaddrinuse" in said():
            raise HubExited("the hub's proxy could not bind its ports")
        if not held:  # the proxy does not listen yet
            time.sleep(0.2)
            continue
        try:
            with urllib.request.urlopen(f"{hub.url}/hub/api/", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"the hub did not answer at {hub.url} in {timeout} s")


def stop(process, timeout=20):
    """Stop the hub started by :func:`start` (it stops the users' servers and its proxy)."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_as(hub, user, argv, cwd=None, runtime=None, **kwargs):
    """Run a command as ``user``, with the environment the hub gives that user's server."""
    entry = pwd.getpwnam(user)
    runtime = Path(runtime or json.loads(hub.settings_file.read_text())["runtime"])
    env = dict(hub.server_env(runtime), HOME=entry.pw_dir, USER=user, LOGNAME=user, SHELL=entry.pw_shell,
               TMPDIR=str(private_tmpdir(user)))
    command = ["runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *argv]
    return subprocess.run(command, cwd=cwd or entry.pw_dir, **kwargs)


# ---------------------------------------------------------------------------------------------
# `make hub`

DEFAULT_FOLDER = Path("/srv/nn-course-hub")


def _accounts_file(folder):
    return Path(folder) / "accounts.json"


def up(args):
    if os.geteuid() != 0:
        raise SystemExit("the class hub runs as root: it creates accounts and starts servers as them")
    exposed = exposed_to_students()
    if exposed:  # the students' accounts would read the hidden tests there
        raise SystemExit(f"the students' accounts could read {', '.join(exposed)} in {REPO}: make the repository "
                         f"yours alone first (chmod 700 {REPO}, or keep it in a folder they cannot enter); "
                         f"the class gets its own copy of the course in the instructor's home")
    if not os.environ.get("COURSE_DATA_DIR"):
        print("note: COURSE_DATA_DIR is not set: the notebooks will download their data on first use")
    folder = Path(args.folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    accounts = json.loads(_accounts_file(folder).read_text()) if _accounts_file(folder).exists() else {}
    users = [args.instructor, *args.students]
    foreign = [u for u in users if account_exists(u) and u not in accounts]
    if foreign:
        raise SystemExit(f"account(s) {', '.join(foreign)} exist and were not made by this script: "
                         "choose other names (--instructor, --students)")
    for user in users:
        accounts.setdefault(user, secrets.token_urlsafe(9))
    # the passwords, for root only from the first byte on
    handle = os.open(_accounts_file(folder), os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(handle, 0o600)
    with os.fdopen(handle, "w") as out:
        out.write(json.dumps(accounts, indent=2) + "\n")
    hub = ClassHub(folder, args.instructor, list(args.students), port=args.port)
    set_up(hub, accounts)
    print(f"class hub: {hub.url}  (course directory {hub.course_dir()}, exchange {hub.exchange})")
    for user in users:
        role = "instructor" if user == args.instructor else "student"
        print(f"  {role:10} {user:20} password {accounts[user]}")
    print(f"formgrader: {hub.url}/user/{args.instructor}/formgrader  (in a tab of its own)")
    print(f"log: {hub.state / 'jupyterhub.log'}; Ctrl-C stops the hub")

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # Ctrl-C, kill, a closed terminal
        signal.signal(sig, interrupt)
    with open(hub.state / "jupyterhub.log", "a") as log:
        process = None
        try:
            process = start_until_up(hub, log)
            print("the hub is up")
            process.wait()
        except KeyboardInterrupt:
            print("stopping the hub and the users' servers")
        except PortHeld as held:  # what to do, without a traceback
            raise SystemExit(f"the hub did not start: {held}") from None
        finally:
            stop(process)


def down(args):
    folder = Path(args.folder)
    accounts = json.loads(_accounts_file(folder).read_text()) if _accounts_file(folder).exists() else {}
    for user in accounts:
        remove_account(user)
        print(f"removed account {user}")
    shutil.rmtree(folder, ignore_errors=True)
    print(f"removed {folder}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    start_parser = sub.add_parser("up", help="create what is missing and run the hub until Ctrl-C")
    start_parser.add_argument("--folder", default=DEFAULT_FOLDER, help="the class folder (default %(default)s)")
    start_parser.add_argument("--port", type=int, default=8000, help="the hub's port on 127.0.0.1 (default %(default)s)")
    start_parser.add_argument("--instructor", default="instructor", help="(default %(default)s)")
    start_parser.add_argument("--students", nargs="+", default=["student1", "student2"], help="(default %(default)s)")
    stop_parser = sub.add_parser("down", help="remove the accounts `up` created and the class folder")
    stop_parser.add_argument("--folder", default=DEFAULT_FOLDER, help="the class folder (default %(default)s)")
    args = parser.parse_args(argv)
    {"up": up, "down": down}[args.command](args)


if __name__ == "__main__":
    main()

"""One gate for submissions: the files and folders a student hands in reach the grader only here.

The grader runs as root, outside the sandbox; what it reads of a submission must be what the
student could hand in, nothing it points at. So the gate accepts regular files and folders
only, looked at with ``lstat`` and never followed, and refuses the whole submission, with a
message naming the entry, for anything else:

- a **symbolic link** (to a file, a folder, ``/dev/zero``, the instructor's ``source/``):
  followed as root it would read what the student cannot;
- a **hard link** (a regular file with more than one name, ``st_nlink > 1``): the same file as
  one outside the submission, e.g. the instructor's, under a name inside it;
- a **FIFO, socket or device file**: reading them blocks, never ends or acts on the machine;
- a **name** that is not valid UTF-8; that holds a control character (a newline, a tab, DEL, a
  line separator, a text-direction override such as U+202E: they forge log lines and disguise
  names); that holds a path separator (``/`` or ``\\``: a "zip-slip" name such as
  ``..\\..\\source\\x``) or is ``.`` or ``..`` once Unicode-normalised (``NFKC``: fullwidth
  ``．．／`` reads as ``../`` to tools that normalise); or that starts with ``-`` (read as an
  option by command-line tools). Messages show names with such characters escaped;
- a file its **owner cannot read** (no owner read bit) or a folder its owner cannot list
  (no owner read or execute bit): root could read it, the student could not have meant to hand
  it in, and a grader that reads it reads past the student's own permissions;
- more than the :class:`Limits` (defaults: a notebook of 50 MB, 200 MB in all, 1000 files and
  folders, 8 levels of folders): a sparse file of 500 MB costs nothing to hand in.

:func:`check_submission` lists the problems; :func:`copy_submission` copies a submission that
has none into a folder of the grader, as bytes. The copy does not rely on an earlier check:
it walks the submission again through open folder descriptors, opens every file with
``O_NOFOLLOW`` and checks with ``fstat`` that what it opened is the regular file it looked at,
so a submission changed between the check and the copy is refused, never followed. Copies get
fixed modes (files 0644, folders 0755): no set-user-id bit or odd mode survives.
:func:`install_nbgrader_gate`, called from ``nbgrader_config.py``, makes plain
``nbgrader autograde`` refuse the same submissions before it reads or copies any of their files.
"""
import fnmatch
import functools
import os
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much one submission may hold; the defaults are the course's (one place for them)."""
    notebook_bytes: int = 50 * MB  # one notebook (``*.ipynb``)
    total_bytes: int = 200 * MB    # all files together
    entries: int = 1000            # files and folders, at any depth
    depth: int = 8                 # folders within folders: ``a/b/c.txt`` has depth 3


LIMITS = Limits()
SHOWN_PROBLEMS = 5  # problems listed in a refusal message; the rest are counted
NOT_COPIED = ("__pycache__", ".ipynb_checkpoints")  # what the worker's copy of a submission leaves out

_READ_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_FOLDER = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_CHUNK = MB
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")  # reorder what a name shows


class SubmissionRefused(Exception):
    """The gate refuses a submission; the message says which entry and why."""


def shown(name):
    """``name`` (a path relative to the submission, a student's folder name, a message) as a
    message or a terminal can show it: bytes that are not UTF-8 as ``\\xff``, control and other
    unprintable characters (terminal escapes) escaped."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def character_problem(name):
    """Why the characters of ``name`` are refused (not UTF-8, a control character), or ''."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # os.fsdecode turned bytes that are not UTF-8 into surrogates
        return "its name is not valid UTF-8"
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in _BIDI_CONTROLS for c in name):
        return "its name holds a control character (a newline, a tab, a text-direction override ...)"
    return ""


def name_problem(name):
    """Why the gate refuses an entry called ``name``, or ''."""
    why = character_problem(name)
    if why:
        return why
    normal = unicodedata.normalize("NFKC", name)
    if "/" in normal or "\\" in normal:
        return "its name holds a path separator (/ or \\)"
    if normal in (".", ".."):
        return "its name reads as . or .."
    if name.startswith("-"):
        return "its name starts with '-' (read as an option by command-line tools)"
    return ""


def kind_problem(info):
    """Why the gate refuses an entry whose ``lstat`` (or ``fstat``) is ``info``, or ''."""
    mode = info.st_mode
    if stat.S_ISLNK(mode):
        return "is a symbolic link (links are not followed: hand in the file or folder itself)"
    if stat.S_ISDIR(mode):
        if mode & (stat.S_IRUSR | stat.S_IXUSR) != stat.S_IRUSR | stat.S_IXUSR:
            return f"is a folder its owner cannot list (mode {stat.S_IMODE(mode):04o})"
        return ""
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device file, not a regular file"
    if not stat.S_ISREG(mode):
        return "is not a regular file"
    if info.st_nlink > 1:
        return f"is a hard link (one file with {info.st_nlink} names): hand in a copy of the file"
    if not mode & stat.S_IRUSR:
        return f"is a file its owner cannot read (mode {stat.S_IMODE(mode):04o})"
    return ""


def refusal_message(problems):
    """One message for a list of problems."""
    listed = "; ".join(problems[:SHOWN_PROBLEMS])
    more = len(problems) - SHOWN_PROBLEMS
    return f"submission refused: {listed}" + (f"; and {more} more" if more > 0 else "")


class _Stop(Exception):
    """A limit on the whole submission was passed: the walk ends there."""


class _Walk:
    """One walk over a submission through folder descriptors, nothing followed.

    Without ``dest`` it notes every problem; with ``dest`` it copies each entry there as it
    goes and raises :class:`SubmissionRefused` at the first problem.
    """

    def __init__(self, limits, dest=None, skip=()):
        self.limits, self.dest, self.skip = limits, dest, tuple(skip)
        self.problems, self.entries, self.total = [], 0, 0

    def refuse(self, problem, stop=False):
        if self.dest is not None:
            raise SubmissionRefused(refusal_message([problem]))
        self.problems.append(problem)
        if stop:
            raise _Stop

    def folder(self, fd, relative, depth):
        """Walk the open folder ``fd`` (``relative`` to the submission, ``depth`` deep)."""
        names = []
        with os.scandir(fd) as listing:  # read lazily: a folder of a million names stops early
            for entry in listing:
                names.append(entry.name)
                if self.entries + len(names) > self.limits.entries:
                    self.refuse(f"{shown(relative or '.')}/ takes the submission over "
                                f"{self.limits.entries} files and folders", stop=True)
        self.entries += len(names)
        for name in sorted(names):
            path = os.path.join(relative, name) if relative else name
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as error:  # it went away after the listing
                self.refuse(f"{shown(path)} changed while the grader read it ({error.strerror})")
                continue
            problem = self.entry_problem(path, name, info, depth + 1)
            if problem:
                self.refuse(problem)
            elif stat.S_ISDIR(info.st_mode):
                self.subfolder(fd, name, path, info, depth + 1)
            elif self.dest is None:
                self.total += info.st_size
                if self.total > self.limits.total_bytes:
                    self.refuse(self.too_large(path), stop=True)
            elif not self.skipped(name):
                self.copy_file(fd, name, path, info)

    def skipped(self, name):
        return skipped(name, self.skip)

    def too_large(self, path):
        return f"the files take the submission over {self.limits.total_bytes / MB:g} MB (at {shown(path)})"

    def entry_problem(self, path, name, info, depth):
        """What is wrong with one entry seen by ``lstat``, or ''."""
        why = name_problem(name)
        if why:
            return f"{shown(path)}: {why}"
        why = kind_problem(info)
        if why:
            return f"{shown(path)} {why}"
        if depth > self.limits.depth:
            return f"{shown(path)} is {depth} levels deep, more than the limit of {self.limits.depth}"
        if stat.S_ISREG(info.st_mode) and name.lower().endswith(".ipynb") and info.st_size > self.limits.notebook_bytes:
            return (f"{shown(path)} is a notebook of {info.st_size / MB:.1f} MB, more than the limit "
                    f"of {self.limits.notebook_bytes / MB:g} MB")
        return ""

    def subfolder(self, fd, name, path, info, depth):
        if self.dest is not None and self.skipped(name):
            return
        try:
            child = os.open(name, _OPEN_FOLDER, dir_fd=fd)
        except OSError as error:
            return self.refuse(f"{shown(path)} could not be opened as a folder ({error.strerror})")
        try:
            if not _same(os.fstat(child), info):
                return self.refuse(f"{shown(path)} changed while the grader read it")
            if self.dest is not None:
                os.mkdir(os.path.join(self.dest, path), 0o755)
            self.folder(child, path, depth)
        finally:
            os.close(child)

    def copy_file(self, fd, name, path, info):
        """Copy the regular file ``name`` of the open folder ``fd`` as bytes, if it is still the
        file ``info`` described and within the limits while it is read."""
        try:
            source = os.open(name, _READ_FILE, dir_fd=fd)
        except OSError as error:
            return self.refuse(f"{shown(path)} could not be opened without following it ({error.strerror})")
        try:
            opened = os.fstat(source)
            problem = self.entry_problem(path, name, opened, path.count(os.sep) + 1)
            if problem or not _same(opened, info):
                return self.refuse(problem or f"{shown(path)} changed while the grader read it")
            if self.total + opened.st_size > self.limits.total_bytes:
                return self.refuse(self.too_large(path))
            limit = self.limits.total_bytes - self.total
            if name.lower().endswith(".ipynb"):
                limit = min(limit, self.limits.notebook_bytes)
            target = os.open(os.path.join(self.dest, path),
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            with open(target, "wb") as out:
                copied = 0
                while chunk := os.read(source, _CHUNK):
                    copied += len(chunk)
                    if copied > limit:
                        return self.refuse(f"{shown(path)} grew past the size limit while the grader read it")
                    out.write(chunk)
            self.total += copied
        finally:
            os.close(source)


def skipped(name, patterns):
    """Whether the entry ``name`` matches one of the file ``patterns``."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def _same(opened, looked_at):
    """Whether ``fstat`` of an opened entry is the entry ``lstat`` looked at."""
    return ((opened.st_dev, opened.st_ino) == (looked_at.st_dev, looked_at.st_ino)
            and stat.S_IFMT(opened.st_mode) == stat.S_IFMT(looked_at.st_mode))


def _open_submission(folder, within=None):
    """An open descriptor of the submission folder, reached without following a link.

    ``within`` is a folder of the grader's own (``submitted/``): it is opened as it is, and every
    folder from there down to ``folder`` (the student's folder, the assignment's) without
    following links. Without it, only ``folder`` itself is not followed.
    """
    folder = os.path.abspath(folder)
    base = os.path.abspath(within) if within is not None else os.path.dirname(folder)
    parts = Path(os.path.relpath(folder, base)).parts
    if not parts or parts[0] == os.pardir or os.path.isabs(parts[0]):
        raise SubmissionRefused(f"submission refused: {shown(folder)} is not inside {shown(base)}")
    fd = os.open(base, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for depth, part in enumerate(parts):
            shown_path = shown(os.path.join(*parts[:depth + 1]))
            try:
                info = os.stat(part, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                raise SubmissionRefused(f"submission refused: {shown_path} is missing") from None
            if not stat.S_ISDIR(info.st_mode):
                raise SubmissionRefused(f"submission refused: {shown_path} "
                                        f"{kind_problem(info) or 'is not a folder'}")
            try:
                child = os.open(part, _OPEN_FOLDER, dir_fd=fd)
            except OSError as error:  # one the grader may not read (another account's, 0700): that one only
                raise SubmissionRefused(f"submission refused: {shown_path} could not be opened as a folder "
                                        f"({error.strerror})") from None
            os.close(fd)
            fd = child
            opened = os.fstat(fd)
            why = kind_problem(opened) or ("" if _same(opened, info) else "changed while the grader read it")
            if why:
                raise SubmissionRefused(f"submission refused: {shown_path} {why}")
    except BaseException:
        os.close(fd)
        raise
    return fd


def check_submission(folder, limits=LIMITS, within=None):
    """Every problem the gate finds in the submission ``folder`` (messages naming the entry,
    relative to ``folder``); [] when it may be graded. Reads no file, follows no link.
    ``within``: see :func:`_open_submission`."""
    try:
        fd = _open_submission(folder, within)
    except SubmissionRefused as refusal:
        return [str(refusal).removeprefix("submission refused: ")]
    walk = _Walk(limits)
    try:
        walk.folder(fd, "", 0)
    except _Stop:
        pass
    finally:
        os.close(fd)
    return walk.problems


def copy_submission(folder, dest, limits=LIMITS, within=None, skip=()):
    """Copy the submission ``folder`` into the new folder ``dest``, as bytes, checking every entry
    again as it goes (see the module's docstring). Raises :class:`SubmissionRefused` at the first
    problem, leaving a partial copy in ``dest`` for the caller to remove. Entries whose name
    matches a pattern of ``skip`` (``__pycache__``, ``*.pyc``) are checked but neither copied nor
    walked into."""
    fd = _open_submission(folder, within)
    try:
        os.makedirs(dest, mode=0o755)
        _Walk(limits, dest=str(dest), skip=skip).folder(fd, "", 0)
    finally:
        os.close(fd)


def read_submission_file(folder, name, limits=LIMITS, within=None):
    """The bytes of the regular file ``name`` of the submission ``folder``, read without following
    a link; raises :class:`SubmissionRefused` when it is not a regular file within the limits,
    FileNotFoundError when it is absent."""
    fd = _open_submission(folder, within)
    try:
        info = os.stat(name, dir_fd=fd, follow_symlinks=False)
        problem = _Walk(limits).entry_problem(name, name, info, 1)
        if not problem and not stat.S_ISREG(info.st_mode):
            problem = f"{shown(name)} is a folder, not a file"
        if problem:
            raise SubmissionRefused(f"submission refused: {problem}")
        source = os.open(name, _READ_FILE, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        opened = os.fstat(source)
        if kind_problem(opened) or not _same(opened, info):
            raise SubmissionRefused(f"submission refused: {shown(name)} changed while the grader read it")
        limit = limits.notebook_bytes if name.lower().endswith(".ipynb") else limits.total_bytes
        chunks, size = [], 0
        while chunk := os.read(source, _CHUNK):
            size += len(chunk)
            if size > limit:
                raise SubmissionRefused(f"submission refused: {shown(name)} grew past the size limit")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(source)


def install_nbgrader_gate(limits=LIMITS):
    """Make ``nbgrader autograde`` pass each submission through the gate first.

    nbgrader's ``pre_convert_hook`` cannot refuse (nbgrader swallows its exceptions), so this
    wraps ``Autograde.init_destination``, the first step nbgrader takes for each submission,
    before it reads ``timestamp.txt``, copies any file or records the student in the gradebook.
    A student id the harness refuses is refused here too (``submissions.student_id_problem``:
    one that nbgrader reads as a file pattern, or that the formgrader's pages or a CSV of grades
    would read as syntax), so is a ``timestamp.txt`` nbgrader cannot
    read (``submissions.timestamp_problem``), and a notebook nested too deep for
    Python's JSON reader (``submissions.nesting_problem``) or with more cells than a notebook may
    have (``submissions.cells_count_problem``). A refused submission raises
    :class:`SubmissionRefused`: nbgrader logs the message, removes that student's ``autograded/``
    folder, grades the other students and ends with an error. It checks only: nbgrader then reads
    ``submitted/`` by path, which the harness's workers never do (they copy with the gate).
    Called from ``nbgrader_config.py``; calling it again changes nothing.
    """
    from nbgrader.converters.autograde import Autograde

    if getattr(Autograde.init_destination, "gated", False):
        return
    original = Autograde.init_destination

    @functools.wraps(original)
    def init_destination(self, assignment_id, student_id):
        excluded = (self.coursedir.student_id_exclude or "").split(",")
        if student_id not in excluded:
            from .submissions import notebooks_size_problems, student_id_problem, timestamp_problem

            folder = os.path.normpath(self._format_source(assignment_id, student_id))
            submitted = os.path.normpath(self.coursedir.format_path(self.coursedir.submitted_directory, ".", "."))
            within = submitted if folder.startswith(submitted + os.sep) else None
            if why := student_id_problem(student_id):  # before the gradebook holds the id
                self.log.error("%s/%s: %s", shown(student_id), assignment_id, why)
                raise SubmissionRefused(why)
            problems = check_submission(folder, limits, within)
            if not problems:
                problems = [p for p in [timestamp_problem(folder, within)] if p]
                problems += notebooks_size_problems(folder, within)
            if problems:
                message = refusal_message(problems)
                self.log.error("%s/%s: %s", student_id, assignment_id, message)
                raise SubmissionRefused(message)
        return original(self, assignment_id, student_id)

    init_destination.gated = True
    Autograde.init_destination = init_destination

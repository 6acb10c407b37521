"""``nbgrader zip_collect``'s archives unpacked through the gate's rules.

``nbgrader zip_collect`` takes a learning platform's download: the files and archives students
handed in, in ``downloaded/<assignment>/archive/``. It unpacks every archive there (and the
archives inside them) into ``extracted/`` before it looks at any name, then copies the notebooks
it recognises into ``submitted/``. Its own unpacker (setuptools') skips ``..`` and absolute names
but nothing else:

- it writes every member whatever its size, reading each one whole into memory first: a zip of
  1 MB holding a gigabyte of zeros writes 1 GB and takes 2.2 GB of memory; archives inside
  archives multiply that (a zip bomb fills the instructor's disk);
- it keeps the mode bits a member states: a member of mode 4755, unpacked by root, is a
  set-user-id program owned by root in the course folder.

:class:`CheckedExtractor`, nbgrader's ``ZipCollectApp.extractor_plugin`` in the course's
``nbgrader_config.py``, unpacks the same archives into the same folders (each into a folder
named after it, archives inside archives too), as the gate copies a submission: regular files
and folders only (a link, a hard link, a device or a FIFO refuses its archive), names the gate
accepts (``..``, an absolute name, a control character, a separator other than ``/`` refuse it),
fixed modes (files 0644, folders 0755), each file written as it is read and counted, never
trusting the sizes an archive states, a zip's directory counted before zipfile reads it. Limits:
one file of at most ``file_bytes``, at most ``max_bytes`` and ``max_entries`` unpacked in all,
folders ``max_depth`` deep, archives ``max_nesting`` deep. An archive that breaks a rule or
cannot be read is refused alone: what was unpacked of it is removed, the archive itself stays in
``archive/`` for the instructor to look at, and an error names it and says why; the others are
unpacked and collected.

:class:`CheckedCollector` then skips, each with an error, the files whose names nbgrader would read
as a student id or notebook name the gate refuses, as another student's file or another time
than the archive that holds them was handed in with, and the ones that would stop nbgrader's
whole run (a time it cannot read, a second file of one notebook without times to choose by).
"""
import gzip
import os
import re
import shutil
import stat
import struct
import tarfile
import zipfile
import zlib

from nbgrader.plugins.zipcollect import ExtractorPlugin, FileNameCollectorPlugin
from nbgrader.utils import parse_utc
from traitlets import Int

from .files import LIMITS, MB, _CHUNK, _READ_FILE, kind_problem, name_problem, shown
from .submissions import student_id_problem


class ArchiveRefused(Exception):
    """One archive is not unpacked; the message says which member and why."""


class BudgetSpent(ArchiveRefused):
    """The limits of the whole unpacking are reached: no further archive is unpacked."""


def _stem(filename):
    """The folder an archive unpacks into: its name less its extension (``.tar.gz`` both)."""
    stem, _ = os.path.splitext(filename)
    inner, ext = os.path.splitext(stem)
    return inner if ext == ".tar" else stem


def member_parts(name):
    """The folders and file name of an archive member called ``name`` (``/`` separates them;
    ``./`` parts are dropped), or ArchiveRefused where the gate would refuse the name."""
    if name.startswith("/"):
        raise ArchiveRefused(f"{shown(name)} is an absolute name")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts:
        raise ArchiveRefused(f"{shown(name)} names no file")
    for part in parts:
        why = name_problem(part)
        if why:
            raise ArchiveRefused(f"{shown(name)}: {why}")
    return parts


class _Unpacking:
    """What one ``zip_collect`` run has unpacked so far, against the extractor's limits."""

    def __init__(self, extractor):
        self.extractor = extractor
        self.bytes = self.entries = 0

    def count_entry(self, name):
        self.entries += 1
        if self.entries > self.extractor.max_entries:
            raise BudgetSpent(f"at {shown(name)}, more than {self.extractor.max_entries} files and folders are unpacked "
                              f"in all (the limit, CheckedExtractor.max_entries)")

    def folder(self, root, parts, name):
        """The folder ``root/parts...``, made where it is missing (never through a link)."""
        if len(parts) > self.extractor.max_depth:
            raise ArchiveRefused(f"{shown(name)} is {len(parts)} levels deep, more than the limit of "
                                 f"{self.extractor.max_depth}")
        path = root
        for part in parts:
            path = os.path.join(path, part)
            try:
                os.mkdir(path, 0o755)
                self.count_entry(name)
            except FileExistsError:
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    raise ArchiveRefused(f"{shown(name)}: {shown(part)} is both a file and a folder") from None
        return path

    def write(self, source, root, parts, name):
        """Write the member ``name`` (``parts`` under ``root``), read from the file object
        ``source``, counting what is written against the limits."""
        folder = self.folder(root, parts[:-1], name)
        self.count_entry(name)
        target = os.path.join(folder, parts[-1])
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            raise ArchiveRefused(f"{shown(name)} is in the archive twice") from None
        written = 0
        with open(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > self.extractor.file_bytes:
                    raise ArchiveRefused(f"{shown(name)} unpacks to more than {self.extractor.file_bytes / MB:g} MB "
                                         f"(the limit of one file, CheckedExtractor.file_bytes)")
                if self.bytes + written > self.extractor.max_bytes:
                    raise BudgetSpent(f"at {shown(name)}, more than {self.extractor.max_bytes / MB:g} MB are unpacked in "
                                      f"all (the limit, CheckedExtractor.max_bytes)")
                out.write(chunk)
        self.bytes += written
        return target

    def zip_members(self, source, root):
        _check_zip_directory(source, self.extractor.max_entries - self.entries)
        with zipfile.ZipFile(source) as archive:
            for info in archive.infolist():
                parts = member_parts(info.filename)
                kind = stat.S_IFMT(info.external_attr >> 16)
                if info.is_dir():
                    self.folder(root, parts, info.filename)
                    continue
                if kind not in (0, stat.S_IFREG):  # 0: made where the mode is not stored (Windows)
                    raise ArchiveRefused(f"{shown(info.filename)} {_kind_problem(kind)}")
                if info.flag_bits & 0x1:
                    raise ArchiveRefused(f"{shown(info.filename)} is encrypted")
                with archive.open(info) as source:
                    self.write(source, root, parts, info.filename)

    def tar_members(self, source, root):
        with tarfile.open(fileobj=source, mode="r:*") as archive:
            for member in archive:  # read as a stream: a compressed tar is never read twice
                parts = member_parts(member.name)
                if member.isdir():
                    self.folder(root, parts, member.name)
                elif member.isreg():
                    self.write(archive.extractfile(member), root, parts, member.name)
                elif member.issym() or member.islnk():
                    link = "symbolic link" if member.issym() else "hard link"
                    raise ArchiveRefused(f"{shown(member.name)} is a {link} (links are not followed)")
                else:
                    raise ArchiveRefused(f"{shown(member.name)} is not a regular file or folder")

    def gzip_member(self, source, root, filename):
        """A ``.gz`` that is not a tar: one file, named as the archive less ``.gz``."""
        with gzip.open(source) as unzipped:
            self.write(unzipped, root, member_parts(os.path.splitext(filename)[0]), filename)

    def unpack(self, source, filename, dest, label, nesting):
        """Unpack the archive ``filename``, open as the binary file ``source``, into
        ``dest/<its stem>/``, then the archives in it (``nesting``: how deep this one is)."""
        root = os.path.join(dest, _stem(filename))
        try:
            os.mkdir(root, 0o755)
        except FileExistsError:
            raise ArchiveRefused(f"{shown(_stem(filename))} is already there, beside the archive") from None
        try:
            try:
                if _is_zip(source):
                    self.zip_members(source, root)
                elif _is_tar(source):
                    self.tar_members(source, root)
                elif filename.endswith(".gz"):
                    self.gzip_member(source, root, filename)
                else:
                    raise ArchiveRefused("it is not a zip, tar or gzip archive, or it is cut short")
            except (zipfile.BadZipFile, tarfile.TarError, zlib.error, gzip.BadGzipFile, EOFError, OSError,
                    NotImplementedError, RuntimeError, ValueError) as error:
                raise ArchiveRefused(f"it could not be read ({type(error).__name__}: {shown(str(error))})") from None
            if nesting >= self.extractor.max_nesting:
                return
            for inner in sorted(_archives_in(root, self.extractor.zip_ext)):
                inner_label = f"{label} > {os.path.relpath(inner, root)}"
                try:
                    with open(inner, "rb") as inner_source:
                        self.unpack(inner_source, os.path.basename(inner), os.path.dirname(inner),
                                    inner_label, nesting + 1)
                except BudgetSpent:
                    raise
                except ArchiveRefused as refusal:
                    self.extractor.refused(inner_label, refusal)
        except ArchiveRefused:
            shutil.rmtree(root, ignore_errors=True)
            raise


def _kind_problem(kind):
    return {stat.S_IFLNK: "is a symbolic link (links are not followed)"}.get(kind, "is not a regular file or folder")


def _check_zip_directory(source, allowed):
    """Refuse the zip open as ``source`` whose central directory holds more than ``allowed``
    entries, before :class:`zipfile.ZipFile` reads it.

    ZipFile parses the whole directory into memory before the first entry can be counted, and
    reads it by the size the end record states, not by its count: a 534 KiB upload holding a
    179 MiB zip whose directory listed 4,000,000 entries (all one local header) took 1.7 GB of
    memory and 20 s before it was refused; refused here, 0.13 GB and 4 s (most of it writing
    the inner zip), and as much where its end record says it lists 1 entry. The end record is
    read with zipfile's own reader (Python 3.11's ``_EndRecData``), so the figures are those
    ZipFile goes by (zip64 records, a trailing comment: a reader of our own that found another
    record would check another directory); the directory is then stepped through as ZipFile
    steps through it, 46 bytes read an entry, and counted: a count that lies cannot hide a
    directory larger than it says.
    """
    end = zipfile._EndRecData(source)
    if not end:
        return  # ZipFile says it is no zip
    listed, size = end[zipfile._ECD_ENTRIES_TOTAL], end[zipfile._ECD_SIZE]
    limit = f"the {allowed} files and folders left to unpack in all (the limit, CheckedExtractor.max_entries)"
    if listed > allowed:
        raise ArchiveRefused(f"it lists {listed} entries, more than {limit}")
    start = end[zipfile._ECD_LOCATION] - size  # where ZipFile looks for the directory
    if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
        start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    if start < 0:
        raise ArchiveRefused(f"its central directory ({size} bytes, it says) is larger than the archive")
    source.seek(start)
    read = entries = 0
    while read < size:
        header = source.read(zipfile.sizeCentralDir)
        if len(header) < zipfile.sizeCentralDir or header[:4] != zipfile.stringCentralDir:
            break  # ZipFile refuses it
        entries += 1
        if entries > allowed:
            raise ArchiveRefused(f"its central directory holds more entries than {limit}")
        names = sum(struct.unpack_from("<3H", header, 28))  # the lengths of its name, extra field, comment
        source.seek(names, os.SEEK_CUR)
        read += zipfile.sizeCentralDir + names
    source.seek(0)


def _is_zip(source):
    try:
        return zipfile.is_zipfile(source)
    finally:
        source.seek(0)


def _is_tar(source):
    try:
        return tarfile.is_tarfile(source)
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile):
        return False
    finally:
        source.seek(0)


def _archives_in(root, extensions):
    for folder, _, files in os.walk(root):
        for name in files:
            if os.path.splitext(name)[1] in extensions:
                yield os.path.join(folder, name)


def _open_regular(path):
    """An open descriptor of the regular file ``path``, not followed; OSError or ArchiveRefused."""
    fd = os.open(path, _READ_FILE)
    info = os.fstat(fd)
    why = kind_problem(info) if not stat.S_ISDIR(info.st_mode) else "is a folder"
    if why:
        os.close(fd)
        raise ArchiveRefused(f"it {why}")
    os.set_blocking(fd, True)
    return fd


class CheckedExtractor(ExtractorPlugin):
    """nbgrader zip_collect's extractor, unpacking by the gate's rules (see the module's docstring)."""

    file_bytes = Int(LIMITS.total_bytes, help="The most one unpacked file may hold, in bytes.").tag(config=True)
    max_bytes = Int(4096 * MB, help="The most a zip_collect run unpacks in all, in bytes.").tag(config=True)
    max_entries = Int(100_000, help="The most files and folders a zip_collect run unpacks.").tag(config=True)
    max_depth = Int(16, help="The most folders within folders inside one archive.").tag(config=True)
    max_nesting = Int(3, help="Archives within archives unpacked: 1 unpacks only those in archive/.").tag(config=True)

    def refused(self, label, refusal):
        self.refusals.append(label)
        self.log.error("Not unpacking %s: %s. Nothing in it is collected; look at it by hand.", shown(label), refusal)

    def extract(self, archive_path, extracted_path):
        self.refusals = []
        try:
            names = os.listdir(archive_path)
        except OSError as error:
            self.log.warning("Cannot read %s: %s", shown(archive_path), error.strerror)
            return
        if not names:
            self.log.warning("No files found in directory: %s", shown(archive_path))
            return
        unpacking = _Unpacking(self)
        spent = None
        for folder, subfolders, files in os.walk(archive_path):  # os.walk follows no link to a folder
            relative = os.path.relpath(folder, archive_path)
            for linked in [name for name in subfolders if os.path.islink(os.path.join(folder, name))]:
                self.refused(os.path.normpath(os.path.join(relative, linked)),
                             ArchiveRefused("it is a symbolic link (links are not followed)"))
            subfolders.sort()
            dest = os.path.normpath(os.path.join(extracted_path, relative))
            os.makedirs(dest, mode=0o755, exist_ok=True)
            for name in sorted(files):
                label = os.path.normpath(os.path.join(relative, name))
                if spent is not None:
                    self.refused(label, spent)
                    continue
                try:
                    self.take(unpacking, os.path.join(folder, name), dest, label)
                except BudgetSpent as refusal:
                    spent = refusal
                    self.refused(label, refusal)
                except ArchiveRefused as refusal:
                    self.refused(label, refusal)
        if self.refusals:
            self.log.error("%d archives or files of %s were not unpacked or copied (named above); every "
                           "other one was.", len(self.refusals), shown(archive_path))

    def take(self, unpacking, path, dest, label):
        """Unpack one file of ``archive/`` (an archive) or copy it (any other file) into ``dest``."""
        try:
            fd = _open_regular(path)
        except OSError as error:
            raise ArchiveRefused(f"it could not be opened without following it ({error.strerror})") from None
        with open(fd, "rb") as source:
            if os.path.splitext(path)[1] in self.zip_ext:
                self.log.info("Extracting from: %s", shown(path))
                unpacking.unpack(source, os.path.basename(path), dest, label, 1)
                self.log.info("  Extracting to: %s", shown(os.path.join(dest, _stem(os.path.basename(path)))))
            else:
                self.log.info("Copying from: %s", shown(path))
                target = unpacking.write(source, dest, member_parts(os.path.basename(path)), label)
                self.log.info("  Copying to: %s", shown(target))


class CheckedCollector(FileNameCollectorPlugin):
    """nbgrader zip_collect's file name collector, which collects no file on a name that would
    let one student hand in for another, and stops no class for one student's files.

    nbgrader reads the student id and the notebook's name (``file_id``), and a time where the
    pattern has one, with the instructor's ``named_regexp`` from the whole path of each unpacked
    file, and copies the file to ``submitted/<student id>/<assignment>/<file id>``. The end of
    that path comes from inside a student's archive, named by the student. Skipped here, each with
    an error naming the file (it stays in ``extracted/`` for the instructor to look at):

    - a student id the gate would refuse as a folder name (``..``, a separator, a control
      character, ``* ? [ ]``, a leading ``= + - @``) or a file id with such a part: with a
      pattern such as ``.*/(?P<student_id>[^_/]+)_(?P<file_id>.+)\\.ipynb``, nbgrader's own
      collector copied a file ``.._problem1.ipynb`` of an archive outside ``submitted/``, and
      made a student ``=cmd`` of ``=cmd_problem1.ipynb``;
    - a student id or a time other than the one the pattern reads from a folder that holds the
      file, that folder's name taken as the name of a handed-in file (the platform names a
      student's archive as it names their files, and the archive unpacks into a folder of its
      name): a file ``bob_problem1.ipynb`` inside ``ada_problem1.zip`` was collected as Bob's
      (replacing his, with a later time), and a time inside an archive could make a late
      submission early;
    - a time nbgrader cannot read, and a second file of one notebook for one student where no
      time chooses between them: each stopped nbgrader's whole run, for every student.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._collected = {}  # (student id, notebook) -> the file collected for it
        self._timed = set()   # the students a collected file gave a time

    def collect(self, submitted_file):
        info = super().collect(submitted_file)
        if not info:
            return info
        problem = (self._name_problem(info) or self._enclosing_problem(submitted_file, info)
                   or self._time_problem(info) or self._duplicate_problem(submitted_file, info))
        if problem:
            self.log.error("Not collecting %s: %s", shown(submitted_file), problem)
            return None
        return info

    @staticmethod
    def _name_problem(info):
        student_id, file_id = info.get("student_id"), info.get("file_id")
        hint = (" (FileNameCollectorPlugin.named_regexp read it from a name that may come from inside a "
                "student's archive)")
        if isinstance(student_id, str) and (name_problem(student_id) or student_id_problem(student_id)):
            return f"the student id {shown(student_id)!r} it gives is refused{hint}"
        if isinstance(file_id, str):
            if file_id.startswith("/") or any(name_problem(part) for part in file_id.split("/")):
                return f"the file id {shown(file_id)!r} it gives is refused{hint}"
        return ""

    def _extracted_folder(self):
        """The folder nbgrader unpacked the download into (None outside ``nbgrader zip_collect``)."""
        app = self.parent
        if not hasattr(app, "_format_collect_path"):
            return None
        return os.path.abspath(app._format_collect_path(app.extracted_directory))

    def _enclosing_problem(self, submitted_file, info):
        """Why the student id or time ``info`` gives differs from one the pattern reads from a
        folder that holds ``submitted_file`` (below ``extracted/``), or ""."""
        extracted = self._extracted_folder()
        if extracted is None:
            return ""
        relative = os.path.relpath(os.path.abspath(submitted_file), extracted)
        if relative.startswith(".."):
            return ""
        extension = os.path.splitext(submitted_file)[1]
        folder = extracted
        for part in relative.split(os.sep)[:-1]:
            folder = os.path.join(folder, part)
            named = re.match(self.named_regexp, folder + extension)
            if not named:
                continue
            for key, what in (("student_id", "student id"), ("timestamp", "time")):
                outer, own = named.groupdict().get(key), info.get(key)
                if outer is not None and own is not None and outer != own:
                    return (f"it gives the {what} {shown(str(own))!r}, and it is inside "
                            f"{shown(os.path.relpath(folder, extracted))}, whose own name gives "
                            f"{shown(str(outer))!r} (FileNameCollectorPlugin.named_regexp): a name inside a "
                            f"student's archive cannot hand in for another student or give another time")
        return ""

    @staticmethod
    def _time_problem(info):
        timestamp = info.get("timestamp")
        if isinstance(timestamp, str) and timestamp:
            try:
                parse_utc(timestamp)
            except (ValueError, OverflowError):
                return f"the time {shown(timestamp)!r} it gives cannot be read as a time"
        return ""

    def _duplicate_problem(self, submitted_file, info):
        """Why nbgrader would stop at ``submitted_file`` as a second file of one notebook for one
        student (it keeps the later one only where both it and the student's files so far have a
        time), or ""; records the file as collected otherwise."""
        student_id = info["student_id"]
        notebook = os.path.splitext(info["file_id"])[0] + os.path.splitext(submitted_file)[1]
        timed = bool(info.get("timestamp"))
        first = self._collected.get((student_id, notebook))
        if first is not None and not (timed and student_id in self._timed):
            return (f"student {shown(student_id)!r} already hands in {shown(notebook)} as {shown(first)}, collected, "
                    f"and no time chooses between them; look at both")
        self._collected.setdefault((student_id, notebook), submitted_file)
        if timed:
            self._timed.add(student_id)
        return ""

"""Does ``nbgrader zip_collect`` unpack a learning platform's download by the gate's rules
(``autograder/gate/archives.py``)?

One download holds good archives (a zip, a tar.gz, a zip inside a zip, a gzipped notebook, a plain
notebook) beside hostile ones (a zip bomb, links, ``..`` names, a set-user-id member, corrupt
archives ...). The course's extractor unpacks the good ones exactly as nbgrader's own does,
refuses each hostile one alone and names it, and never writes more than its limits; nbgrader's
own extractor, on the same download, writes all of the bomb and the set-user-id bit.
"""
import gzip
import io
import logging
import os
import stat
import struct
import subprocess
import sys
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest
from nbgrader.plugins.zipcollect import ExtractorPlugin
from setuptools.archive_util import UnrecognizedFormat

from autograder.gate.archives import CheckedExtractor
from autograder.worker.nbgrader_cli import NBGRADER, configure_course, nbgrader_env

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'
ASSIGNMENT = "ps1"
SMALL = {"file_bytes": 2 * MB, "max_bytes": 40 * MB, "max_entries": 500, "max_depth": 6, "max_nesting": 3}


def zip_bytes(*members):
    """A zip of ``members``: (name, bytes) or (ZipInfo, bytes); a name may come twice."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name"
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()


def zeros_zip(name, size):
    """A zip whose member ``name`` is ``size`` bytes of zeros (about a thousandth of it compressed)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open(zipfile.ZipInfo(name), "w", force_zip64=True) as member:
            for _ in range(size // MB):
                member.write(bytes(MB))
    return buffer.getvalue()


def with_mode(name, mode):
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    return info


def marked_encrypted(data):
    """``data`` (a zip of one member) with that member marked encrypted (general purpose flag bit
    0, in its local and central headers): a reader asks for a password."""
    data = bytearray(data)
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at] |= 0x1
    return bytes(data)


def tar_bytes(*members):
    """A tar.gz of ``members``: (TarInfo, bytes or None)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for info, content in members:
            if content is not None:
                info.size = len(content)
            archive.addfile(info, io.BytesIO(content) if content is not None else None)
    return buffer.getvalue()


def tar_entry(name, kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


def corrupt_crc(data):
    """``data`` (a zip of one stored member) with a byte of that member changed."""
    at = data.index(b"hand in") + 3
    return data[:at] + b"X" + data[at + 1:]


def repeated_directory(entries, listed=None, zip64=False):
    """A zip whose central directory holds ``entries`` entries, all of one empty member ``a``
    (one local header), and whose end record says it lists ``listed`` (``entries`` unless given),
    in zip64 end records where ``zip64``: the shape of a 534 KiB upload whose inner zip listed
    4,000,000 entries, which zipfile.ZipFile read whole (1.7 GB, 20 s) before any limit."""
    listed = entries if listed is None else listed
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    directory = (struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
                             (stat.S_IFREG | 0o644) << 16, 0) + b"a") * entries
    if not zip64:
        return local + directory + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, listed, listed, len(directory),
                                               len(local), 0)
    return (local + directory
            + struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, listed, listed, len(directory), len(local))
            + struct.pack("<4sLQL", b"PK\x06\x07", 0, len(local) + len(directory), 1)
            + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0))


def stored_zip(name, content):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


# The download's good files: every one is unpacked or copied, as nbgrader's own extractor does.
GOOD = {
    "ada_ps1.zip": zip_bytes(("ada_ps1/problem1.ipynb", NOTEBOOK), ("ada_ps1/notes.txt", b"notes")),
    "bob_ps1.tar.gz": tar_bytes((tar_entry("./problem1.ipynb"), NOTEBOOK)),
    "cy_ps1.zip": zip_bytes(("inner.zip", zip_bytes(("problem1.ipynb", NOTEBOOK)))),
    "dee_problem1.ipynb.gz": gzip.compress(NOTEBOOK),
    "eve_problem1.ipynb": NOTEBOOK,
    "later/fay_ps1.zip": zip_bytes(("problem1.ipynb", NOTEBOOK)),
}
# The hostile ones, each with what the error that names it says.
HOSTILE = {
    "bomb.zip": (zeros_zip("zeros.bin", 64 * MB), "zeros.bin unpacks to more than 2 MB"),
    "link.zip": (zip_bytes((with_mode("passwd", stat.S_IFLNK | 0o777), b"/etc/passwd")), "passwd is a symbolic link"),
    "dotdot.zip": (zip_bytes(("../escaped.txt", b"x")), "../escaped.txt: its name reads as . or .."),
    "absolute.zip": (zip_bytes(("/tmp/escaped.txt", b"x")), "/tmp/escaped.txt is an absolute name"),
    "backslash.zip": (zip_bytes(("..\\escaped.txt", b"x")), "its name holds a path separator"),
    "control.zip": (zip_bytes(("a\x1b[2Jb.txt", b"x")), "a\\x1b[2Jb.txt: its name holds a control character"),
    "encrypted.zip": (marked_encrypted(zip_bytes(("answers.ipynb", NOTEBOOK))), "answers.ipynb is encrypted"),
    "twice.zip": (zip_bytes(("a.txt", b"1"), ("a.txt", b"2")), "a.txt is in the archive twice"),
    "both.zip": (zip_bytes(("a", b"1"), ("a/b.txt", b"2")), "a is both a file and a folder"),
    "deep.zip": (zip_bytes(("/".join("abcdefgh") + "/x.txt", b"x")), "is 8 levels deep, more than the limit of 6"),
    "crc.zip": (corrupt_crc(stored_zip("answer.txt", b"hand in this")), "it could not be read (BadZipFile: Bad CRC-32"),
    "truncated.zip": (zip_bytes(("a.txt", b"x" * 1000))[:-30], "it is not a zip, tar or gzip archive, or it is cut short"),
    "not_an_archive.zip": (b"just text", "it is not a zip, tar or gzip archive"),
    "truncated.tar.gz": (tar_bytes((tar_entry("a.txt"), os.urandom(5000)))[:-2000], "it could not be read"),
    "tar_link.tar.gz": (tar_bytes((tar_entry("key", tarfile.SYMTYPE, "/root/.ssh/id_rsa"), None)),
                        "key is a symbolic link"),
    "tar_hard.tar.gz": (tar_bytes((tar_entry("shadow", tarfile.LNKTYPE, "/etc/shadow"), None)), "shadow is a hard link"),
    "tar_fifo.tar.gz": (tar_bytes((tar_entry("pipe", tarfile.FIFOTYPE), None)), "pipe is not a regular file or folder"),
    "tar_device.tar.gz": (tar_bytes((tar_entry("zero", tarfile.CHRTYPE), None)), "zero is not a regular file or folder"),
    "tar_dotdot.tar.gz": (tar_bytes((tar_entry("a/../../escaped.txt"), b"x")), "its name reads as . or .."),
    "nested_bad.zip": (zip_bytes(("fine.txt", b"fine"), ("inner.zip", zip_bytes(("../x", b"x")))), None),
}


def make_download(folder, files):
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def tree(folder):
    """{relative path: bytes or None for a folder} of everything under ``folder``."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders:
            found[os.path.relpath(os.path.join(root, name), folder)] = None
        for name in files:
            path = os.path.join(root, name)
            found[os.path.relpath(path, folder)] = open(path, "rb").read()
    return found


def extract(plugin, archive, extracted, caplog, **limits):
    extractor = plugin(**limits)
    extractor.log = logging.getLogger("zip-collect-test")
    extracted.mkdir()
    with caplog.at_level(logging.INFO, logger="zip-collect-test"):
        extractor.extract(str(archive), str(extracted))
    return caplog.text


def test_good_archives_unpack_as_nbgraders_own_extractor_unpacks_them(tmp_path, caplog):
    make_download(tmp_path / "archive", GOOD)
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "checked", caplog, **SMALL)
    assert "ERROR" not in log, log
    unpacked = tree(tmp_path / "checked")
    for path in ("ada_ps1/ada_ps1/problem1.ipynb", "bob_ps1/problem1.ipynb", "cy_ps1/inner/problem1.ipynb",
                 "dee_problem1.ipynb/dee_problem1.ipynb", "eve_problem1.ipynb", "later/fay_ps1/problem1.ipynb"):
        assert unpacked[path] == NOTEBOOK, path
    for root, folders, files in os.walk(tmp_path / "checked"):
        for name in folders + files:
            mode = stat.S_IMODE(os.lstat(os.path.join(root, name)).st_mode)
            assert mode == (0o755 if name in folders else 0o644), (name, oct(mode))
    # nbgrader's own extractor: the same folders and files, but for the gzipped notebook, which
    # stops its whole run (setuptools' unpacker knows no plain gzip file).
    (tmp_path / "archive" / "dee_problem1.ipynb.gz").unlink()
    extract(ExtractorPlugin, tmp_path / "archive", tmp_path / "stock", caplog)
    assert {path: content for path, content in unpacked.items() if not path.startswith("dee_")} == tree(tmp_path / "stock")
    make_download(tmp_path / "gz", {"dee_problem1.ipynb.gz": GOOD["dee_problem1.ipynb.gz"]})
    with pytest.raises(UnrecognizedFormat):
        extract(ExtractorPlugin, tmp_path / "gz", tmp_path / "stock_gz", caplog)


def test_nbgraders_unpacker_is_imported_on_its_first_use_and_is_setuptools_own(tmp_path):
    # autograder/__init__.py: a process that imports nbgrader after autograder imports setuptools
    # only once nbgrader's stock extractor unpacks an archive, and gets setuptools' own unpacker
    # and errors then (the tests above use them in this process).
    (tmp_path / "a.zip").write_bytes(zip_bytes(("inner/problem1.ipynb", NOTEBOOK)))
    (tmp_path / "a.gz").write_bytes(gzip.compress(NOTEBOOK))
    script = (
        "import sys\n"
        "import os, autograder, nbgrader.utils\n"
        "os.mkdir('out')\n"
        "before = sorted(m for m in ('setuptools', 'pkg_resources') if m in sys.modules)\n"
        "nbgrader.utils.unzip('a.zip', 'out')\n"
        "import setuptools.archive_util as real\n"
        "try:\n"
        "    nbgrader.utils.unzip('a.gz', 'out')\n"
        "    refused = 'nothing raised'\n"
        "except real.UnrecognizedFormat:\n"
        "    refused = 'UnrecognizedFormat'\n"
        "print(before, open('out/inner/problem1.ipynb').read().startswith('{'), refused,\n"
        "      nbgrader.utils.unpack_archive.__module__, real.unpack_archive.__module__)\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.split() == ["[]", "True", "UnrecognizedFormat", "autograder", "setuptools.archive_util"], run.stdout


def test_each_hostile_archive_is_refused_alone_and_named(tmp_path, caplog):
    make_download(tmp_path / "archive", {**GOOD, **{name: content for name, (content, _) in HOSTILE.items()}})
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **SMALL)
    unpacked = tree(tmp_path / "extracted")
    make_download(tmp_path / "good", GOOD)
    extract(CheckedExtractor, tmp_path / "good", tmp_path / "good_only", caplog, **SMALL)
    good_only = tree(tmp_path / "good_only")
    hostile_left = {path for path in unpacked if path not in good_only}
    # Nothing of a refused archive stays, but the outer part of nested_bad.zip: its inner zip is refused alone.
    assert hostile_left == {"nested_bad", "nested_bad/fine.txt", "nested_bad/inner.zip"}, hostile_left
    assert {path: unpacked[path] for path in good_only} == good_only
    for name, (_, why) in HOSTILE.items():
        if why:
            assert f"Not unpacking {name}: " in log and why in log.split(f"Not unpacking {name}: ")[1].split("\n")[0], name
    assert "Not unpacking nested_bad.zip > inner.zip: ../x: its name reads as . or .." in log
    assert f"{len(HOSTILE)} archives or files of {tmp_path / 'archive'} were not unpacked or copied" in log
    assert "\x1b" not in log
    assert not (tmp_path / "escaped.txt").exists() and not os.path.exists("/tmp/escaped.txt")


def test_the_modes_a_member_states_are_not_kept(tmp_path, caplog):
    make_download(tmp_path / "archive", {"setuid.zip": zip_bytes((with_mode("run", stat.S_IFREG | 0o4755), b"#!/bin/sh\n"))})
    extract(CheckedExtractor, tmp_path / "archive", tmp_path / "checked", caplog)
    assert stat.S_IMODE((tmp_path / "checked" / "setuid" / "run").stat().st_mode) == 0o644
    # nbgrader's own extractor keeps the set-user-id bit (as root: a root-owned set-user-id program).
    extract(ExtractorPlugin, tmp_path / "archive", tmp_path / "stock", caplog)
    assert (tmp_path / "stock" / "setuid" / "run").stat().st_mode & stat.S_ISUID


def test_a_bomb_of_nested_archives_stops_at_the_runs_limit_and_later_archives_are_named(tmp_path, caplog):
    # Ten zips of 1.5 MB each (under the limit of one file), twice over: 30 MB from 60 kB.
    layer = zip_bytes(*((f"part{i}.zip", zeros_zip("zeros.bin", 1 * MB + MB // 2)) for i in range(10)))
    make_download(tmp_path / "archive", {"a_bomb.zip": zip_bytes(("x.zip", layer), ("y.zip", layer)),
                                         "b_ps1.zip": zip_bytes(("problem1.ipynb", NOTEBOOK))})
    assert (tmp_path / "archive" / "a_bomb.zip").stat().st_size < 200_000
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog,
                  **{**SMALL, "max_bytes": 20 * MB})
    assert "Not unpacking a_bomb.zip: at " in log and "more than 20 MB are unpacked in all" in log
    assert "Not unpacking b_ps1.zip: at " in log  # the limit is the run's: nothing after it is unpacked
    assert tree(tmp_path / "extracted") == {}
    # nbgrader's own unpacks it all (and would go on for a larger one until the disk is full).
    extract(ExtractorPlugin, tmp_path / "archive", tmp_path / "stock", caplog)
    assert sum(len(c) for c in tree(tmp_path / "stock").values() if c) > 30 * MB


def test_too_many_entries(tmp_path, caplog):
    # A zip is refused alone on the entries its directory lists, before it is read; a tar, read as
    # a stream, at the entry past the limit, which ends the run.
    make_download(tmp_path / "archive", {"a_many.zip": zip_bytes(*((f"f{i}.txt", b"") for i in range(600))),
                                         "b_many.tar.gz": tar_bytes(*((tar_entry(f"f{i}.txt"), b"") for i in range(600)))})
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **SMALL)
    assert "Not unpacking a_many.zip: it lists 600 entries, more than the 500 files and folders left to unpack" in log
    assert "Not unpacking b_many.tar.gz: at f500.txt, more than 500 files and folders are unpacked in all" in log
    assert tree(tmp_path / "extracted") == {}


@pytest.mark.parametrize("zip64", [False, True], ids=["zip", "zip64"])
@pytest.mark.parametrize("listed, why", [
    (600, "it lists 600 entries, more than the 499 files and folders left to unpack in all"),
    (1, "its central directory holds more entries than the 499 files and folders left to unpack in all"),
], ids=["counted", "miscounted"])
def test_a_directory_of_more_entries_than_are_left_is_refused_before_zipfile_reads_it(
        tmp_path, caplog, monkeypatch, zip64, listed, why):
    make_download(tmp_path / "archive", {"ada_problem1.ipynb": NOTEBOOK,  # copied first: 499 entries are left
                                         "mallory_problem1.zip": repeated_directory(600, listed, zip64)})

    def read_whole(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile read the directory")
    monkeypatch.setattr(zipfile, "ZipFile", read_whole)
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **SMALL)
    assert f"Not unpacking mallory_problem1.zip: {why} (the limit, CheckedExtractor.max_entries)" in log, log
    assert tree(tmp_path / "extracted") == {"ada_problem1.ipynb": NOTEBOOK}


def test_a_directory_larger_than_its_archive_is_refused(tmp_path, caplog):
    data = bytearray(zip_bytes(("problem1.ipynb", NOTEBOOK)))
    struct.pack_into("<L", data, data.rindex(b"PK\x05\x06") + 12, 10 * MB)  # the directory's size
    make_download(tmp_path / "archive", {"ada_problem1.ipynb": NOTEBOOK, "big.zip": bytes(data)})
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **SMALL)
    assert f"Not unpacking big.zip: its central directory ({10 * MB} bytes, it says) is larger than the archive" in log
    assert tree(tmp_path / "extracted") == {"ada_problem1.ipynb": NOTEBOOK}


def test_an_inner_zip_of_too_many_entries_is_refused_alone(tmp_path, caplog):
    make_download(tmp_path / "archive", {
        "ada_problem1.zip": zip_bytes(("problem1.ipynb", NOTEBOOK)),
        "mallory_problem1.zip": zip_bytes(("inner.zip", repeated_directory(5000, zip64=True)), ("notes.txt", b"x"))})
    assert (tmp_path / "archive" / "mallory_problem1.zip").stat().st_size < 2000
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **SMALL)
    assert "Not unpacking mallory_problem1.zip > inner.zip: it lists 5000 entries, more than the 497 files" in log
    unpacked = tree(tmp_path / "extracted")
    assert unpacked["ada_problem1/problem1.ipynb"] == NOTEBOOK and unpacked["mallory_problem1/notes.txt"] == b"x"
    assert "mallory_problem1/inner" not in unpacked


@pytest.mark.parametrize("zip64, comment", [(False, b""), (True, b""), (False, b"made by hand " * 100), (True, b"c")],
                         ids=["plain", "zip64", "comment", "zip64_comment"])
def test_zip64_records_and_a_comment_unpack_as_before(tmp_path, caplog, monkeypatch, zip64, comment):
    buffer = io.BytesIO()
    with monkeypatch.context() as writing:
        if zip64:  # zipfile writes zip64 end records only past 65,535 entries or 4 GiB
            writing.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.comment = comment
            for name, content in (("problem1.ipynb", NOTEBOOK), ("notes/todo.txt", b"todo")):
                with archive.open(zipfile.ZipInfo(name), "w", force_zip64=zip64) as member:
                    member.write(content)
    assert (b"PK\x06\x06" in buffer.getvalue()) == zip64
    make_download(tmp_path / "archive", {"ada_ps1.zip": buffer.getvalue()})
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **{**SMALL, "max_entries": 4})
    assert "ERROR" not in log, log
    assert tree(tmp_path / "extracted") == {"ada_ps1": None, "ada_ps1/problem1.ipynb": NOTEBOOK,
                                            "ada_ps1/notes": None, "ada_ps1/notes/todo.txt": b"todo"}


def test_archives_nested_deeper_than_the_limit_stay_archives(tmp_path, caplog):
    deepest = zip_bytes(("problem1.ipynb", NOTEBOOK))
    for _ in range(3):
        deepest = zip_bytes(("next.zip", deepest))
    make_download(tmp_path / "archive", {"nested.zip": deepest})
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog, **SMALL)
    assert "ERROR" not in log
    unpacked = tree(tmp_path / "extracted")  # three levels unpacked, the fourth archive kept as it is
    assert "nested/next/next/next.zip" in unpacked and "nested/next/next/next" not in unpacked


def test_links_and_pipes_in_the_download_folder_are_not_followed(tmp_path, caplog):
    make_download(tmp_path / "archive", {"ada_problem1.ipynb": NOTEBOOK})
    secret = tmp_path / "secret.txt"
    secret.write_text("the instructor's")
    (tmp_path / "archive" / "linked.ipynb").symlink_to(secret)
    (tmp_path / "archive" / "linked_folder").symlink_to(tmp_path)
    os.mkfifo(tmp_path / "archive" / "pipe.zip")
    log = extract(CheckedExtractor, tmp_path / "archive", tmp_path / "extracted", caplog)
    assert tree(tmp_path / "extracted") == {"ada_problem1.ipynb": NOTEBOOK}
    assert "Not unpacking linked.ipynb: it could not be opened without following it" in log
    assert "Not unpacking linked_folder: it is a symbolic link" in log
    assert "Not unpacking pipe.zip: it is a named pipe (FIFO)" in log


REGEXP = r".*/(?P<student_id>[^_/]+)_(?P<file_id>[^/]+)\.ipynb$"  # as an instructor may write it


def zip_collect(tmp_path, download, *options, regexp=REGEXP, check=True):
    """(course folder, log) of ``nbgrader zip_collect`` with the course's configuration on ``download``;
    with ``check``, the run must succeed."""
    course = tmp_path / "course"
    (course / "release" / ASSIGNMENT).mkdir(parents=True)
    (course / "release" / ASSIGNMENT / "problem1.ipynb").write_bytes(NOTEBOOK)
    configure_course(course)
    make_download(course / "downloaded" / ASSIGNMENT / "archive", download)
    done = subprocess.run([*NBGRADER, "zip_collect", ASSIGNMENT, f"--FileNameCollectorPlugin.named_regexp={regexp}",
                           *options], cwd=course, capture_output=True, text=True, timeout=120,
                          env=nbgrader_env({"NBGRADER_DB_URL": f"sqlite:///{tmp_path / 'gradebook.db'}"}))
    log = done.stdout + done.stderr
    assert done.returncode == 0 or not check, log
    return course, log


def notebooks_written(course):
    return sorted(str(path.relative_to(course)) for path in course.rglob("*.ipynb")
                  if path.parts[len(course.parts)] not in ("release", "downloaded"))


def test_nbgrader_zip_collect_uses_it_and_collects_the_good_submissions(tmp_path):
    course, log = zip_collect(tmp_path, {"ada_problem1.zip": zip_bytes(("ada_problem1.ipynb", NOTEBOOK)),
                                         "bob_problem1.zip": zeros_zip("bob_problem1.ipynb", 300 * MB)})
    assert "Using file extractor: CheckedExtractor" in log and "Using file collector: CheckedCollector" in log
    assert ("Not unpacking bob_problem1.zip: bob_problem1.ipynb unpacks to more than 200 MB (the limit of one "
            "file, CheckedExtractor.file_bytes)") in log
    assert notebooks_written(course) == [f"submitted/ada/{ASSIGNMENT}/problem1.ipynb"]
    assert (course / "submitted" / "ada" / ASSIGNMENT / "problem1.ipynb").read_bytes() == NOTEBOOK
    assert not (course / "downloaded" / ASSIGNMENT / "extracted" / "bob_problem1").exists()


# Names inside a student's archive that the instructor's pattern reads as a student id.
NAMED_INSIDE = {"cy_problem1.zip": zip_bytes((".._problem1.ipynb", NOTEBOOK), ("=cmd_problem1.ipynb", NOTEBOOK),
                                             ("cy_problem1.ipynb", NOTEBOOK))}


def test_student_ids_read_from_names_inside_an_archive_are_checked_by_the_gates_rules(tmp_path):
    course, log = zip_collect(tmp_path, NAMED_INSIDE)
    assert notebooks_written(course) == [f"submitted/cy/{ASSIGNMENT}/problem1.ipynb"]
    extracted = course / "downloaded" / ASSIGNMENT / "extracted" / "cy_problem1"
    for name, student in ((".._problem1.ipynb", ".."), ("=cmd_problem1.ipynb", "=cmd")):
        assert f"Not collecting {extracted / name}: the student id '{student}' it gives is refused" in log


def test_nbgraders_own_collector_writes_outside_submitted(tmp_path):
    course, _ = zip_collect(tmp_path, NAMED_INSIDE,
                            "--ZipCollectApp.collector_plugin=nbgrader.plugins.zipcollect.FileNameCollectorPlugin")
    assert notebooks_written(course) == [f"{ASSIGNMENT}/problem1.ipynb", f"submitted/=cmd/{ASSIGNMENT}/problem1.ipynb",
                                         f"submitted/cy/{ASSIGNMENT}/problem1.ipynb"]


NBGRADERS_OWN = "--ZipCollectApp.collector_plugin=nbgrader.plugins.zipcollect.FileNameCollectorPlugin"
# As nbgrader's documentation writes a pattern with times: the platform names each file handed in
# <student>_<time>_<name>, and an archive the same way.
TIMED = r".*/(?P<student_id>[^_/]+)_(?P<timestamp>[0-9-]+)_(?P<file_id>[^/]+)\.ipynb$"
ADA, BOB, CY = (NOTEBOOK.replace(b"[]", f'[{{"cell_type": "raw", "metadata": {{}}, "source": "{who}"}}]'.encode(), 1)
                for who in ("ada", "bob", "cy"))
# Ada's archive also holds a file named as Bob's, at a later time than his; Cy's archive, handed
# in late, holds his notebook named with an earlier time.
ANOTHERS_NAME = {
    "ada_2026-01-10-12-00-00_ps1.zip": zip_bytes(("ada_2026-01-10-12-00-00_problem1.ipynb", ADA),
                                                 ("bob_2026-01-11-12-00-00_problem1.ipynb", ADA)),
    "bob_2026-01-10-09-00-00_problem1.ipynb": BOB,
    "cy_2026-01-20-12-00-00_ps1.zip": zip_bytes(("cy_2026-01-01-00-00-00_problem1.ipynb", CY)),
}


def submitted(course, student):
    folder = course / "submitted" / student / ASSIGNMENT
    time = folder / "timestamp.txt"
    return (folder / "problem1.ipynb").read_bytes(), time.read_text() if time.exists() else None


def test_a_name_inside_an_archive_hands_in_for_no_other_student_and_gives_no_other_time(tmp_path):
    course, log = zip_collect(tmp_path, ANOTHERS_NAME, regexp=TIMED)
    assert notebooks_written(course) == [f"submitted/{who}/{ASSIGNMENT}/problem1.ipynb" for who in ("ada", "bob")]
    assert submitted(course, "ada") == (ADA, "2026-01-10 12:00:00")
    assert submitted(course, "bob") == (BOB, "2026-01-10 09:00:00")
    extracted = course / "downloaded" / ASSIGNMENT / "extracted"
    assert (f"Not collecting {extracted}/ada_2026-01-10-12-00-00_ps1/bob_2026-01-11-12-00-00_problem1.ipynb: it "
            "gives the student id 'bob', and it is inside ada_2026-01-10-12-00-00_ps1, whose own name gives 'ada' "
            "(FileNameCollectorPlugin.named_regexp): a name inside a student's archive cannot hand in for another "
            "student or give another time") in log
    assert (f"Not collecting {extracted}/cy_2026-01-20-12-00-00_ps1/cy_2026-01-01-00-00-00_problem1.ipynb: it "
            "gives the time '2026-01-01-00-00-00', and it is inside cy_2026-01-20-12-00-00_ps1, whose own name "
            "gives '2026-01-20-12-00-00'") in log

    # nbgrader's own collector: Bob's notebook is Ada's, and Cy's is on time.
    course, _ = zip_collect(tmp_path / "own", ANOTHERS_NAME, NBGRADERS_OWN, regexp=TIMED)
    assert submitted(course, "bob") == (ADA, "2026-01-11 12:00:00")
    assert submitted(course, "cy") == (CY, "2026-01-01 00:00:00")


# Each stopped nbgrader's own run for the whole class: a time it cannot read, and one student's
# two files of one notebook without times.
STOPPERS = {
    "ada_2026-13-45-00-00-00_problem1.ipynb": ADA,
    "bob_ps1.zip": zip_bytes(("a/bob_problem1.ipynb", BOB), ("b/bob_problem1.ipynb", ADA)),
    "cy_problem1.ipynb": CY,
}


def test_one_students_files_do_not_stop_the_class(tmp_path):
    regexp = r".*/(?P<student_id>[^_/]+)_((?P<timestamp>[0-9-]+)_)?(?P<file_id>[^/]+)\.ipynb$"
    course, log = zip_collect(tmp_path, STOPPERS, regexp=regexp)
    assert notebooks_written(course) == [f"submitted/{who}/{ASSIGNMENT}/problem1.ipynb" for who in ("bob", "cy")]
    assert submitted(course, "bob") == (BOB, None) and submitted(course, "cy") == (CY, None)
    extracted = course / "downloaded" / ASSIGNMENT / "extracted"
    assert (f"Not collecting {extracted}/ada_2026-13-45-00-00-00_problem1.ipynb: the time '2026-13-45-00-00-00' "
            "it gives cannot be read as a time") in log
    assert (f"Not collecting {extracted}/bob_ps1/b/bob_problem1.ipynb: student 'bob' already hands in "
            f"problem1.ipynb as {extracted}/bob_ps1/a/bob_problem1.ipynb, collected, and no time chooses between "
            "them; look at both") in log

    for one in STOPPERS:
        if one != "cy_problem1.ipynb":
            own = tmp_path / f"own-{one}"
            course, log = zip_collect(own, {one: STOPPERS[one], "cy_problem1.ipynb": CY}, NBGRADERS_OWN,
                                      regexp=regexp, check=False)
            assert notebooks_written(course) == [], log
            assert "Invalid timestamp string" in log or "Duplicate submission file. No timestamps" in log


def test_a_platforms_download_in_one_archive(tmp_path):
    """The whole class in one zip, as a platform's download: the students' archives inside it are
    checked as above; a download whose own name reads as a student's refuses every file in it."""
    inside = {"ada_problem1.zip": zip_bytes(("ada_problem1.ipynb", ADA), ("bob_problem1.ipynb", ADA)),
              "bob_problem1.ipynb": BOB}
    course, log = zip_collect(tmp_path, {"submissions.zip": zip_bytes(*inside.items())})
    assert submitted(course, "ada") == (ADA, None) and submitted(course, "bob") == (BOB, None)
    assert "it gives the student id 'bob', and it is inside submissions/ada_problem1, whose own name gives 'ada'" in log

    course, log = zip_collect(tmp_path / "named", {"ps1_all.zip": zip_bytes(*inside.items())})
    assert notebooks_written(course) == []
    for name in ("ada_problem1/ada_problem1.ipynb", "bob_problem1.ipynb"):
        assert f"Not collecting {course}/downloaded/{ASSIGNMENT}/extracted/ps1_all/{name}: it gives the student id" in log
    assert "and it is inside ps1_all, whose own name gives 'ps1'" in log

"""``nbgrader collect`` through the gate: what students put in the exchange reaches ``submitted/``
only as they could hand it in.

Students write their submissions into the exchange's ``inbound/`` folder themselves: a folder
named ``<student>+<assignment>+<timestamp>+<random>`` that they own. nbgrader's collect, run by
the instructor, trusts both the name and the content:

- it copies with ``shutil.copytree``, which follows links: a student's ``notes.txt`` linked to
  the instructor's ``source/``, gradebook or another student's work arrives in ``submitted/`` as
  a regular file with that content, which the student's own kernel may then print into the
  graded notebook and its feedback;
- a folder named after another student only draws a warning ("cheating attempt?") and, being
  the newest, replaces that student's own submission;
- the time of a submission is the one its folder's name and its ``timestamp.txt`` state, which
  the student writes: a late submission can say it was on time (nbgrader's late penalties and
  ``--before-duedate`` read it), and a time that does not parse stops ``nbgrader collect`` for
  the whole class;
- its ``submission_secret.txt`` (which names the student's released feedback) is the student's
  too: one missing, empty or not UTF-8 stops ``nbgrader release_feedback`` for the whole class.

:class:`GatedCollect`, set as nbgrader's collect in ``nbgrader_config.py``, keeps nbgrader's
collect and changes what it trusts. A submission folder that its owner did not name after
themselves (where nbgrader's ``check_owner`` is on, its default) or that the gate refuses (a
link, a FIFO, a device, an odd name, over the limits: ``files.py``) is not collected: the error
names the folder and why, the student's newest submission that passes is collected instead,
and the refused folder stays in ``inbound/`` for the instructor to look at. The copy itself is
the gate's (``copy_submission``), which follows nothing even if the folder changes meanwhile;
the gate's limits (``files.LIMITS``) stand in for nbgrader's ``max_file_size`` and
``max_dir_size``, and nbgrader's ``CourseDirectory.ignore`` patterns are still left out. It
collects nothing from a course folder in the exchange, or an ``inbound/``, that the instructor
running it does not own (nbgrader's release refuses to release there; its collect did not look):
its owner, a student who made it first, may have removed or replaced any submission in it.

The time of a submission is checked against the one thing of it a student cannot set: the time
Linux notes when a file or folder last changed (its ``ctime``; ``touch`` and ``utime`` set the
others). A stated time more than :data:`TOLERANCE` away from the latest change of the folder and
its entries, or one that does not parse, is replaced by that latest change, with a warning; the
collected ``timestamp.txt`` holds the time used. A ``submission_secret.txt`` that is missing,
empty, not UTF-8 or over 1 KB is replaced by a new secret, with a warning: that student's
feedback is released, though ``nbgrader fetch_feedback`` cannot find it (nbgrader submit always
writes a good one).
"""
import contextlib
import datetime
import os
import secrets
import shutil
import stat

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import self_owned

from .files import LIMITS, SubmissionRefused, check_submission, copy_submission, refusal_message
from .submissions import student_id_reason

try:
    import pwd
except ImportError:  # Windows: nbgrader skips the owner check there too
    pwd = None

# How far the stated time of a submission may be from its files' latest change: nbgrader submit
# names the folder before it copies the files, a large submission on a shared disk takes a while,
# and the clocks of the students' servers and of the file server may differ a little.
TOLERANCE = datetime.timedelta(minutes=5)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"  # nbgrader's, in UTC


class GatedCollect(ExchangeCollect):
    """nbgrader's collect, with the gate at the exchange's ``inbound/`` folder."""

    def init_src(self):
        # nbgrader's release refuses a course folder in the exchange that the instructor does not
        # own; its collect does not look. Whoever owns the course's folder or its inbound/ may
        # remove and replace every student's submission in it (the sticky bit spares nothing
        # from a folder's owner): a student who made them first.
        course_path = os.path.join(self.root, self.coursedir.course_id)
        for path in (course_path, os.path.join(course_path, "inbound")):
            if self.coursedir.course_id and os.path.isdir(path) and not self.coursedir.groupshared \
                    and not self_owned(path):
                self.fail(f"You don't own the directory: {path} (its owner, {owner_name(path)}, may have removed or "
                          "replaced the submissions in it, so nothing is collected from it). Move it away, and make "
                          "the course's folder in the exchange yourself before students can log in.")
        super().init_src()

    def _path_to_record(self, path):
        name = os.path.basename(path)
        try:
            record = super()._path_to_record(path)
            stated = record["timestamp"]
        except (ValueError, OverflowError):  # a time dateutil cannot read
            record, stated = {"username": name.rsplit("+", 3)[0], "filename": name}, None
        changed = last_change(path)
        record["timestamp"] = stated
        if stated is None or not changed - TOLERANCE <= stated <= changed + TOLERANCE:
            record["timestamp"] = changed
            said = "no time it can read" if stated is None else f"it was submitted at {stated:{TIMESTAMP_FORMAT}}"
            self.log.warning("%s says %s, but its files last changed at %s: collected as submitted then.",
                             path, said, f"{changed:{TIMESTAMP_FORMAT}}")
        if not hasattr(self, "_times"):
            self._times = {}
        self._times[name] = record["timestamp"]
        return record

    def _refusal(self, record):
        """Why the submission folder of ``record`` is not collected, or '' (said once, as an error)."""
        if not hasattr(self, "_refusals"):
            self._refusals = {}
        name = record["filename"]
        if name not in self._refusals:
            path = os.path.join(self.inbound_path, name)
            problems = []
            if self.check_owner and pwd is not None:
                owner = owner_name(path)
                if owner != record["username"]:
                    problems.append(f"it is named after {record['username']} but was made by {owner} (where student "
                                    f"ids are not the Unix owners of their submissions, as in containers that all "
                                    f"run as jovyan, set c.ExchangeCollect.check_owner = False)")
            if why := student_id_reason(record["username"]):  # as nbgrader autograde would (where ids are not owners)
                problems.append(why)
            problems += check_submission(path, LIMITS, within=self.inbound_path)
            self._refusals[name] = refusal_message(problems) if problems else ""
            if problems:
                self.log.error("Not collecting %s: %s. The folder stays in the exchange.", path, self._refusals[name])
        return self._refusals[name]

    def _sort_by_timestamp(self, records):
        # nbgrader collects the first of each student's submissions in this order (with
        # --before-duedate, the first on time): only those the gate lets through are left in it,
        # unless it refuses them all (copy_files then collects none).
        ordered = super()._sort_by_timestamp(records)
        return [r for r in ordered if not self._refusal(r)] or ordered

    def copy_files(self):
        # a student all of whose submissions are refused is not collected
        self.src_records = [record for record in self.src_records if not self._refusal(record)]
        super().copy_files()

    def do_copy(self, src, dest, log=None):
        """The gate's copy of ``src``, without the entries nbgrader's ``CourseDirectory.ignore``
        matches; a submission changed into something the gate refuses while it is copied is not
        collected (its partial copy is removed)."""
        try:
            copy_submission(src, dest, LIMITS, within=self.inbound_path, skip=self.coursedir.ignore)
        except SubmissionRefused as refusal:
            shutil.rmtree(dest, ignore_errors=True)
            self.log.error("Not collecting %s: %s", src, refusal)
            return
        stamp = os.path.join(dest, "timestamp.txt")
        if os.path.lexists(stamp):
            os.remove(stamp)
        with open(stamp, "w", encoding="utf-8") as handle:
            handle.write(f"{self._times[os.path.basename(src)]:{TIMESTAMP_FORMAT}}")
        secret = os.path.join(dest, "submission_secret.txt")
        if not usable_secret(secret):
            self.log.warning("%s has no submission_secret.txt that nbgrader release_feedback can use: collected "
                             "with a new one (its feedback is released, but fetch_feedback will not find it).", src)
            if os.path.lexists(secret):
                os.remove(secret)
            with open(secret, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_hex(64))


def owner_name(path):
    """The name of the account that owns ``path`` (not followed); "an unknown user" where it has
    no name here or ``path`` cannot be read."""
    try:
        return pwd.getpwuid(os.lstat(path).st_uid).pw_name if pwd is not None else "an unknown user"
    except (KeyError, OSError):
        return "an unknown user"


def usable_secret(path):
    """Whether the collected ``submission_secret.txt`` at ``path`` is one nbgrader's
    release_feedback can read and hash: present, 1 byte to 1 KB, UTF-8."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(1025)
        return 0 < len(data) <= 1024 and bool(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        return False


def last_change(folder, most=LIMITS.entries + 1):
    """The latest ``ctime`` of ``folder`` and its entries (none followed), as a naive UTC datetime;
    after ``most`` entries it stops (the gate refuses such a folder anyway). A folder that has
    gone, or is not a folder, counts as changed now (the gate refuses it)."""
    try:
        info = os.lstat(folder)
    except OSError:
        info = None
    if info is None or not stat.S_ISDIR(info.st_mode):
        return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    latest, seen = info.st_ctime, 0
    for top, folders, files in os.walk(folder, onerror=lambda error: None):  # links are not walked into
        for name in folders + files:
            seen += 1
            with contextlib.suppress(OSError):  # gone meanwhile; the gate says what is wrong
                latest = max(latest, os.lstat(os.path.join(top, name)).st_ctime)
        if seen >= most:
            break
    return datetime.datetime.fromtimestamp(latest, datetime.timezone.utc).replace(tzinfo=None)

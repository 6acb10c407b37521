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
  the newest, replaces that student's own submission.

:class:`GatedCollect`, set as nbgrader's collect in ``nbgrader_config.py``, keeps nbgrader's
collect and changes two things. A submission folder that its owner did not name after
themselves (where nbgrader's ``check_owner`` is on, its default) or that the gate refuses (a
link, a FIFO, a device, an odd name, over the limits: ``files.py``) is not collected: the error
names the folder and why, the student's newest submission that passes is collected instead,
and the refused folder stays in ``inbound/`` for the instructor to look at. The copy itself is
the gate's (``copy_submission``), which follows nothing even if the folder changes meanwhile;
the gate's limits (``files.LIMITS``) stand in for nbgrader's ``max_file_size`` and
``max_dir_size``, and nbgrader's ``CourseDirectory.ignore`` patterns are still left out.
"""
import os
import shutil

from nbgrader.exchange.default.collect import ExchangeCollect

from .files import LIMITS, SubmissionRefused, check_submission, copy_submission, refusal_message

try:
    import pwd
except ImportError:  # Windows: nbgrader skips the owner check there too
    pwd = None


class GatedCollect(ExchangeCollect):
    """nbgrader's collect, with the gate at the exchange's ``inbound/`` folder."""

    def _refusal(self, record):
        """Why the submission folder of ``record`` is not collected, or '' (said once, as an error)."""
        if not hasattr(self, "_refusals"):
            self._refusals = {}
        name = record["filename"]
        if name not in self._refusals:
            path = os.path.join(self.inbound_path, name)
            problems = []
            if self.check_owner and pwd is not None:
                try:
                    owner = pwd.getpwuid(os.lstat(path).st_uid).pw_name
                except (KeyError, OSError):
                    owner = "an unknown user"
                if owner != record["username"]:
                    problems.append(f"it is named after {record['username']} but was made by {owner}")
            problems += check_submission(path, LIMITS, within=self.inbound_path)
            self._refusals[name] = refusal_message(problems) if problems else ""
            if problems:
                self.log.error("Not collecting %s: %s. The folder stays in the exchange.", path, self._refusals[name])
        return self._refusals[name]

    def _sort_by_timestamp(self, records):
        # nbgrader collects the first of each student's submissions in this order: the newest
        # that the gate lets through, before any it refuses.
        ordered = super()._sort_by_timestamp(records)
        return [r for r in ordered if not self._refusal(r)] + [r for r in ordered if self._refusal(r)]

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


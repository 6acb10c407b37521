"""``nbgrader release_feedback`` that releases every page it can, and names those it cannot.

nbgrader's release_feedback names each student's released page after a hash of the
``submission_secret.txt`` that ``nbgrader submit`` wrote into the submission, and logs its
``timestamp.txt``: it reads both from ``feedback/<student>/<assignment>/``, where
``generate_feedback`` (or the harness) copied them from the graded submission. A submission that
did not come through ``nbgrader submit`` and ``nbgrader collect`` has no secret (a late one copied
into ``submitted/`` by hand, an upload from a learning platform), or may have one nbgrader cannot
read (the student's folder is the student's to fill). nbgrader then stops at that student with a
traceback (``FileNotFoundError``, ``UnicodeDecodeError``, ``AssertionError``), and the students
after them in its walk get no feedback either.

:class:`CheckedReleaseFeedback`, set as nbgrader's release_feedback in ``nbgrader_config.py``,
releases each student's folder with nbgrader's own code, one folder at a time, after checking
that both files are there and readable. A folder that fails the check is not released: an error
names it and says why, and the other students' pages are released as before. Without a secret of
the student's own, a released page could not be found by ``nbgrader fetch_feedback`` anyway (it
looks for the hash of the secret in the student's copy of the submission): such a student gets
the page some other way, from the folder the error names.
"""
import glob
import os

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback

from .collect import usable_secret


def release_problem(folder):
    """Why nbgrader cannot release the feedback pages in ``folder``; "" when it can."""
    if not usable_secret(os.path.join(folder, "submission_secret.txt")):
        problem = "its submission_secret.txt is missing or unreadable (1 byte to 1 KB of UTF-8)"
    else:
        try:
            with open(os.path.join(folder, "timestamp.txt"), encoding="utf-8") as handle:
                handle.read(1024)
            return ""
        except (OSError, UnicodeDecodeError):
            problem = "its timestamp.txt is missing or not UTF-8 text"
    return (problem + ": the submission did not come through nbgrader submit and collect (which write both), "
            "so nbgrader fetch_feedback could not find its page; give the student the page in this folder "
            "another way")


class CheckedReleaseFeedback(ExchangeReleaseFeedback):
    """nbgrader's release_feedback, one student's folder at a time, each checked first."""

    def copy_files(self):
        pattern = self.src_path  # feedback/<student or *>/<assignment>
        folders = sorted({os.path.dirname(page) for page in glob.glob(os.path.join(pattern, "*.html"))})
        try:
            for folder in folders:
                problem = release_problem(folder)
                if problem:
                    self.log.error("Not releasing the feedback in %s: %s", folder, problem)
                    continue
                self.src_path = glob.escape(folder)
                super().copy_files()
        finally:
            self.src_path = pattern

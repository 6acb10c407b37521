"""The soak benchmark's short run: a class of 40 mixed ghosts (the demo class and the faulty
submissions, taken in turn) graded at --jobs 2, with the grader's memory, file descriptors,
processes and temporary bytes sampled as it goes (``benchmarks/soak.py``; its long run grades 300
and more). They must stay flat after the warm-up, nothing may be left behind, and each kind of
ghost must get the same grade every time."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.needs_bwrap


def test_a_class_of_40_leaves_the_grader_flat_and_nothing_behind(data_cache):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "soak.py"), "--submissions", "40", "--jobs", "2",
                           "--interval", "1"], cwd=ROOT, env={**os.environ, "COURSE_DATA_DIR": str(data_cache)},
                          capture_output=True, text=True, timeout=1200)
    report = done.stdout + done.stderr
    print(report)
    assert "graded 40 submissions" in report, report
    assert "each kind of ghost got one status and score every time" in report, report
    assert "left behind: 0 process(es) other than the fork server, 0 run folder(s), 0 new" in report, report
    assert "\nflat, nothing left behind, same grades for the same ghost" in report, report
    assert done.returncode == 0, report

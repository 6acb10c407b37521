"""The demo: build the release, hand in a class of ghost students, grade it, show the grades."""
import shutil
import subprocess
import sys
import time

from known_submissions.ghosts import demo_class, write_class

from . import course
from .grading import format_table, grade_class, summary
from .course import COURSE_ROOT


def run_demo(out):
    started = time.monotonic()
    assignments = course.assignment_ids()
    build = subprocess.run([sys.executable, str(COURSE_ROOT / "admin" / "build.py"), *assignments],
                           cwd=COURSE_ROOT)
    if build.returncode != 0:
        return build.returncode
    submitted = COURSE_ROOT / "submitted"
    for assignment in assignments:
        students = demo_class(assignment)
        for student_id in students:
            shutil.rmtree(submitted / student_id / assignment, ignore_errors=True)
        write_class(assignment, submitted, students)
        print(f"\nGrading {len(students)} demo students of {assignment} "
              f"(nbgrader autograde, grading mode):")
        results = grade_class(assignment, submitted, out / assignment, students=set(students))
        print()
        print(format_table(results))
        print()
        print(summary(results))
        print(f"\ngrades:   {out / assignment / 'grades.csv'}")
        print(f"feedback: {out / assignment / 'feedback'}/<student>/{assignment}/")
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
    return 0

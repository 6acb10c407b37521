"""The demo: build the release, hand in a class of ghost students, grade it, show the grades."""
import shutil
import subprocess
import sys
import time

from .ghosts.notebooks import mistakes_of, write_class
from .grading import format_table, grade_class, summary
from .nbgrader_cli import COURSE_ROOT

DEMO_ASSIGNMENTS = ("a01_santa_logreg", "a02_cat_dnn", "a03_cnn_mnist_cifar", "a04_knn_mlp_transfer")


def run_demo(out):
    started = time.monotonic()
    build = subprocess.run([sys.executable, str(COURSE_ROOT / "admin" / "build.py"), *DEMO_ASSIGNMENTS],
                           cwd=COURSE_ROOT)
    if build.returncode != 0:
        return build.returncode
    submitted = COURSE_ROOT / "submitted"
    for assignment in DEMO_ASSIGNMENTS:
        students = mistakes_of(assignment).DEMO_CLASS
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

"""Command line of the grading harness.

    python -m autograder grade ASSIGNMENT [SUBMISSIONS] --out OUT [--jobs N] [--scheduler ADDRESS]
    python -m autograder demo [--out OUT]
"""
import argparse
import os
import sys
from pathlib import Path

from .nbgrader_cli import COURSE_ROOT


def _grade(args):
    from .grading import format_table, grade_class, summary

    submissions = Path(args.submissions)
    if not submissions.is_dir():
        print(f"error: no submissions folder {submissions} (nbgrader's layout: "
              f"SUBMISSIONS/<student_id>/{args.assignment}/<notebook>.ipynb)", file=sys.stderr)
        return 2
    if not (COURSE_ROOT / "source" / args.assignment).is_dir():
        print(f"error: unknown assignment {args.assignment!r}: no folder source/{args.assignment}/",
              file=sys.stderr)
        return 2
    if args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    from .grading import GraderRefuses

    try:
        results = grade_class(args.assignment, submissions, Path(args.out), jobs=args.jobs,
                              scheduler=args.scheduler, timeout=args.timeout,
                              cell_timeout=args.cell_timeout, memory_mb=args.memory_mb,
                              max_cell_output=args.max_cell_output,
                              students=set(args.student) if args.student else None)
    except GraderRefuses as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(format_table(results))
    print()
    print(summary(results))
    print(f"\ngrades: {Path(args.out) / 'grades.csv'}\nfeedback: {Path(args.out) / 'feedback'}/")
    return 0


def _demo(args):
    from .demo import run_demo

    return run_demo(Path(args.out))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade every submission of one assignment")
    grade.add_argument("assignment", help="assignment id, e.g. a01_santa_logreg")
    grade.add_argument("submissions", nargs="?", default=str(COURSE_ROOT / "submitted"),
                       help="folder of SUBMISSIONS/<student_id>/<assignment>/ (default: submitted/)")
    grade.add_argument("--out", required=True, help="folder for grades.csv and feedback/")
    grade.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                       help="parallel worker processes (default: the number of cores)")
    grade.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler (tcp://host:port) to grade on its cluster")
    grade.add_argument("--student", action="append", metavar="ID",
                       help="grade only this student (repeat for several); the others stay as they are")
    grade.add_argument("--timeout", type=int, default=600,
                       help="seconds one notebook may take to grade (default 600)")
    grade.add_argument("--cell-timeout", type=int, default=60,
                       help="seconds one cell may run before it is interrupted (default 60)")
    grade.add_argument("--memory-mb", type=int, default=4096,
                       help="address-space limit per grading process in MiB, 0 for none (default 4096)")
    grade.add_argument("--max-cell-output", type=int, default=1_000_000, metavar="CHARS",
                       help="characters of output one cell keeps, the rest dropped with a note; "
                            "0 for no limit (default 1000000)")
    grade.set_defaults(run=_grade)

    demo = commands.add_parser("demo", help="build the release, grade a demo class of ghost students")
    demo.add_argument("--out", default=str(COURSE_ROOT / "demo-output"), help="output folder")
    demo.set_defaults(run=_demo)

    args = parser.parse_args(argv)
    return args.run(args)

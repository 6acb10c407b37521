"""Command line of the grading harness.

    python -m autograder grade ASSIGNMENT [SUBMISSIONS] --out OUT [--jobs N] [--scheduler ADDRESS]
                               [--force] [--Class.trait=VALUE ...]
    python -m autograder demo [--out OUT]

``grade`` exits 0 when every student got a result, 1 when the grader failed for some submission
after its retries (their rows are ``error``: the same command again grades only those), 2 when it
cannot run.

Any setting of ``autograder/settings.py`` or nbgrader can be given as ``--Class.trait=VALUE``
(``--Sandbox.mode=rlimits``, ``--Execute.timeout=30``), on top of the course's ``nbgrader_config.py``.
"""
import re
import argparse
import sys
from pathlib import Path

from .course import COURSE_ROOT


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
    if args.jobs is not None and args.jobs < 1:
        print("error: --jobs must be at least 1", file=sys.stderr)
        return 2
    from .grading import GraderRefuses

    try:
        results = grade_class(args.assignment, submissions, Path(args.out), jobs=args.jobs,
                              scheduler=args.scheduler, timeout=args.timeout,
                              cell_timeout=args.cell_timeout, memory_mb=args.memory_mb,
                              max_cell_output=args.max_cell_output,
                              students=set(args.student) if args.student else None, settings=args.settings,
                              force=args.force)
    except GraderRefuses as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print()
    print(format_table(results))
    print()
    print(summary(results))
    print(f"\ngrades: {Path(args.out) / 'grades.csv'}\nfeedback: {Path(args.out) / 'feedback'}/")
    failed = [r.student_id for r in results if r.status == "error"]
    if failed:
        print(f"error: the grader failed for {len(failed)} submission(s) after its retries, not the students: "
              f"{', '.join(failed[:10])}{' ...' if len(failed) > 10 else ''}; run the command again to grade "
              f"only those", file=sys.stderr)
        return 1
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
    grade.add_argument("--jobs", type=int, default=None,
                       help="submissions graded at once (Grading.jobs; default: one per core)")
    grade.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler to grade on its cluster: tls://host:port with the "
                            "Grading.tls_ca_file, Grading.tls_cert and Grading.tls_key settings, or tcp://host:port "
                            "(a warning: anyone who reaches it runs code on the workers)")
    grade.add_argument("--student", action="append", metavar="ID",
                       help="grade only this student (repeat for several); the others stay as they are")
    grade.add_argument("--force", action="store_true",
                       help="grade every submission again, even those whose result in OUT is still current "
                            "(by default a run with the same OUT grades only what it has not finished)")
    grade.add_argument("--timeout", type=float, default=None,
                       help="seconds one notebook may take to grade (Grading.timeout)")
    grade.add_argument("--cell-timeout", type=int, default=None,
                       help="seconds one cell may run before it is interrupted (nbgrader's Execute.timeout)")
    grade.add_argument("--memory-mb", type=int, default=None,
                       help="address-space limit of the grading process and its kernel in MiB, 0 for none "
                            "(Sandbox.memory_mb)")
    grade.add_argument("--max-cell-output", type=int, default=None, metavar="CHARS",
                       help="characters of output one cell keeps, the rest dropped with a note; 0 for no "
                            "limit (SurvivingExecute.max_cell_output)")
    grade.set_defaults(run=_grade)

    demo = commands.add_parser("demo", help="build the release, grade a demo class of ghost students")
    demo.add_argument("--out", default=str(COURSE_ROOT / "demo-output"), help="output folder")
    demo.set_defaults(run=_demo)

    args, rest = parser.parse_known_args(argv)
    settings = [arg for arg in rest if SETTING.fullmatch(arg)]
    unknown = [arg for arg in rest if arg not in settings]
    if unknown:
        parser.error(f"unrecognized arguments: {' '.join(unknown)} (settings are written --Class.trait=VALUE)")
    args.settings = settings
    return args.run(args)


SETTING = re.compile(r"--[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*=.*", re.S)

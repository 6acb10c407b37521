"""(Re)write the adversarial fixtures of a01_santa_logreg from cases.py.

    python -m known_submissions.adversarial.build_fixtures            write every fixture (and remove stale ones)
    python -m known_submissions.adversarial.build_fixtures --check    exit 1 if a committed fixture differs; writes nothing
    python -m known_submissions.adversarial.build_fixtures --submissions DIR
        lay the committed fixtures out as a class to grade: DIR/<case name>/a01_santa_logreg/<file handed in>

Each case gives ``fixtures/<case name>.ipynb``; a case that hands in extra files beside its
notebook gives them in ``fixtures/<case name>/``.
"""
import argparse
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FIXTURES = HERE / "fixtures"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from known_submissions.adversarial.cases import ASSIGNMENT, CASES  # noqa: E402


def expected_files(cases=CASES):
    """{path relative to fixtures/: bytes} of every fixture the cases give."""
    files = {}
    for case in cases:
        files[f"{case.name}.ipynb"] = case.notebook_bytes()
        for name, text in case.extra_files:
            files[f"{case.name}/{name}"] = text.encode("utf-8")
    return files


def files_on_disk():
    return {p.relative_to(FIXTURES).as_posix(): p.read_bytes()
            for p in sorted(FIXTURES.rglob("*")) if p.is_file()}


def differences(expected=None):
    """The fixtures that are missing, stale (no case gives them) or not what the cases give."""
    expected = expected_files() if expected is None else expected
    present = files_on_disk()
    problems = [f"missing: {name}" for name in sorted(set(expected) - set(present))]
    problems += [f"stale: {name}" for name in sorted(set(present) - set(expected))]
    problems += [f"differs: {name}" for name in sorted(set(expected) & set(present))
                 if expected[name] != present[name]]
    return problems


def write(expected):
    """Write the fixtures and remove every other file of fixtures/; returns what changed."""
    changed = differences(expected)
    for name in set(files_on_disk()) - set(expected):
        (FIXTURES / name).unlink()
    for folder in sorted((p for p in FIXTURES.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    for name, data in expected.items():
        path = FIXTURES / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return changed


def write_submissions(submissions_dir, cases=CASES):
    """SUBMISSIONS/<case name>/<assignment>/ holding what the student handed in, from the
    committed fixtures; the case name is the student id."""
    for case in cases:
        folder = Path(submissions_dir) / case.name / ASSIGNMENT
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        shutil.copyfile(FIXTURES / f"{case.name}.ipynb", folder / case.submitted_name)
        for name, _ in case.extra_files:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(FIXTURES / case.name / name, folder / name)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed fixtures; write nothing")
    parser.add_argument("--submissions", metavar="DIR", help="lay the committed fixtures out as a class in DIR")
    args = parser.parse_args(argv)
    if args.submissions:
        write_submissions(args.submissions)
        print(f"{len(CASES)} submissions written to {args.submissions}")
        return 0
    expected = expected_files()
    if args.check:
        problems = differences(expected)
        for problem in problems:
            print(problem)
        print(f"{len(problems)} fixture(s) out of date" if problems else f"{len(expected)} fixture files up to date")
        return 1 if problems else 0
    changed = write(expected)
    for change in changed:
        print(change)
    print(f"{len(expected)} fixture files for {len(CASES)} cases in {FIXTURES.relative_to(ROOT)} "
          f"({len(changed)} changed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

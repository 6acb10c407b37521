"""The class's feedback pages in the harness's output folder (autograder/pages/class_feedback.py)."""
from autograder.grading import Result
from autograder.pages.class_feedback import write_feedback


def test_a_page_made_again_by_the_coordinator_has_the_time_a_submission_has(tmp_path, capsys):
    """A graded student whose worker could not make a page gets one more nbgrader run here, under
    the grading time limit: past it the run is stopped, the student gets the page that says so,
    and the students after them are not held up."""
    results = [Result("no-pages-ghost", "a01_santa_logreg", 13.0, 13.0, "graded"),
               Result("refused-ghost", "a01_santa_logreg", 0.0, 13.0, "invalid", "submission refused: a link")]
    write_feedback("a01_santa_logreg", results, tmp_path, timeout=0.001)
    assert "generate_feedback for no-pages-ghost took more than 0.001 s and was stopped" in capsys.readouterr().err
    graded = (tmp_path / "feedback" / "no-pages-ghost" / "a01_santa_logreg" / "a01_santa_logreg.html").read_text()
    assert "graded, but its feedback page could not be made" in graded and "13 / 13" in graded
    refused = (tmp_path / "feedback" / "refused-ghost" / "a01_santa_logreg" / "a01_santa_logreg.html").read_text()
    assert "not graded" in refused and "submission refused: a link" in refused

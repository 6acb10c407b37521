"""Do the notebook helpers choose the grading budget, find the style sheet and count as documented?"""
import numpy as np
import pytest

from coursekit import budget, grading_mode, in_grading_mode
from coursekit.notebook import find_css
from conftest import ROOT


@pytest.mark.parametrize("value, mode", [("autograde", "autograde"), ("validate", "validate"),
                                         (" Autograde ", "autograde"), ("", None), ("yes", None)])
def test_grading_mode_follows_nbgrader_execution(monkeypatch, value, mode):
    monkeypatch.setenv("NBGRADER_EXECUTION", value)
    assert grading_mode() == mode
    assert in_grading_mode() == (mode is not None)
    assert budget(full=2000, grading=100) == (100 if mode else 2000)


def test_without_nbgrader_students_get_the_full_budget(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert budget(full=None, grading=120) is None


def test_style_sheet_is_found_beside_the_notebook_first_then_in_admin(tmp_path):
    course = tmp_path / "course"
    (course / "admin").mkdir(parents=True)
    (course / "admin" / "custom.css").write_text("h1 {}")
    notebook_folder = course / "autograded" / "student" / "a01"
    notebook_folder.mkdir(parents=True)
    assert find_css(notebook_folder) == course / "admin" / "custom.css"
    (notebook_folder / "custom.css").write_text("h2 {}")
    assert find_css(notebook_folder) == notebook_folder / "custom.css"


def test_no_style_sheet_anywhere_is_not_an_error(tmp_path):
    assert find_css(tmp_path) is None


def test_confusion_matrix_counts_true_classes_in_rows_and_predictions_in_columns():
    from coursekit.plotting import confusion_matrix

    counts = confusion_matrix(np.array([[0], [1], [1], [2], [2], [2]]), np.array([0, 1, 2, 2, 0, 2]), 4)
    assert counts.tolist() == [[1, 0, 0, 0], [0, 1, 1, 0], [1, 0, 2, 0], [0, 0, 0, 0]]


@pytest.fixture
def shown(monkeypatch):
    """The figures that plotting helpers show, kept open instead of displayed."""
    import matplotlib
    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    figures = []
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: figures.append(plt.gcf()))
    yield figures
    plt.close("all")


def tile(figure, index, count, ncols, height, width):
    """The pixels of image ``index`` of ``count`` in the grid drawn by show_images, as stored in its
    one picture: rows of (title space, image), columns of (image, gap)."""
    canvas = np.asarray(figure.axes[0].images[0].get_array())
    nrows = -(-count // ncols)
    above = canvas.shape[0] // nrows - height
    gap = canvas.shape[1] // ncols - width
    row, column = divmod(index, ncols)
    top, left = row * (height + above) + above, column * (width + gap)
    return canvas[top:top + height, left:left + width]


def test_show_images_draws_one_picture_with_each_title_above_its_image(shown):
    from coursekit.plotting import show_images

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 8, 8, 3), dtype=np.uint8)
    show_images(images, titles=[f"image {i}" for i in range(7)], ncols=3)
    (figure,) = shown
    assert len(figure.axes) == 1  # one set of axes, not one per image
    assert [text.get_text() for text in figure.axes[0].texts] == [f"image {i}" for i in range(7)]
    np.testing.assert_allclose(tile(figure, 4, 7, 3, 8, 8), images[4] / 255)


def test_show_images_draws_each_pixel_as_a_block_of_its_colour(shown):
    """Not smoothed: the picture drawn holds only the images' own colours (and the white around
    them), each pixel of an image a block of the screen."""
    from coursekit.plotting import show_images

    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(4, 20, 20, 3), dtype=np.uint8)
    show_images(images, ncols=4, size=0.55)  # 2.5 screen pixels a pixel: matplotlib would smooth
    (figure,) = shown
    figure.canvas.draw()
    drawn = np.asarray(figure.canvas.buffer_rgba())[..., :3].reshape(-1, 3)
    colours = {tuple(c) for c in drawn}
    assert colours <= {tuple(c) for c in images.reshape(-1, 3)} | {(255, 255, 255)}
    assert len(colours) > 200  # the images are there, not a blank figure


def test_show_images_scales_each_grey_image_and_clips_float_colours_as_imshow_does(shown):
    from coursekit.plotting import show_images

    grey = np.stack([np.full((6, 6), 3.0), np.arange(36.0).reshape(6, 6) - 10])
    show_images(grey[..., None])
    np.testing.assert_allclose(tile(shown[0], 0, 2, 2, 6, 6), 0.0)  # a constant image: no range to stretch
    second = tile(shown[0], 1, 2, 2, 6, 6)
    assert second.min() == 0.0 and second.max() == 1.0 and np.allclose(second[..., 0], second[..., 2])
    show_images(np.array([[[[-0.5, 0.25, 2.0]]]]))
    np.testing.assert_allclose(tile(shown[1], 0, 1, 1, 1, 1)[0, 0], [0.0, 0.25, 1.0])


def test_show_images_of_nothing_says_so_and_draws_nothing(shown, capsys):
    from coursekit.plotting import show_images

    show_images(np.zeros((0, 4, 4, 3)))
    assert shown == [] and "No images to show." in capsys.readouterr().out


def test_a_missing_name_is_reported_as_an_error_and_explained(tmp_path):
    """In a real kernel: a cell that reads a name a failed cell should have made still fails, with
    its NameError, and is followed by the hint; a mistake inside a function gets no hint."""
    import nbformat
    from nbclient.exceptions import CellExecutionError
    from nbformat.v4 import new_code_cell, new_notebook

    from coursekit.notebook import MISSING_NAME_HINT
    from notebook_runs import run_in_kernel

    setup = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nimport coursekit\ncoursekit.setup_notebook()"
    unbound = "def f():\n    total += 1\n\nf()"
    notebook = new_notebook(cells=[new_code_cell(setup), new_code_cell("result = model()"),
                                   new_code_cell("print(result['costs'])"), new_code_cell(unbound),
                                   new_code_cell("print('still running')")])
    run_in_kernel(notebook, tmp_path, 60, allow_errors=True)
    outputs = [cell.outputs for cell in notebook.cells]

    def errors(cell_outputs):
        return [o.ename for o in cell_outputs if o.output_type == "error"]

    def printed(cell_outputs):
        return "".join(o.text for o in cell_outputs if o.output_type == "stream")

    assert errors(outputs[1]) == ["NameError"] and MISSING_NAME_HINT in printed(outputs[1])
    assert errors(outputs[2]) == ["NameError"] and MISSING_NAME_HINT in printed(outputs[2])
    assert "'result' is not defined" in "\n".join(next(o for o in outputs[2] if o.output_type == "error").traceback)
    assert errors(outputs[3]) == ["UnboundLocalError"] and MISSING_NAME_HINT not in printed(outputs[3])
    assert printed(outputs[4]) == "still running\n"
    # the cell still fails: a run that stops at errors stops there
    stopping = nbformat.from_dict(notebook)
    stopping.cells = stopping.cells[:3]
    with pytest.raises(CellExecutionError, match="NameError"):
        run_in_kernel(stopping, tmp_path, 60)

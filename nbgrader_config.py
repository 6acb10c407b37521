"""nbgrader configuration of the course.

The repository root is the course directory. Machine-specific values come from the environment:

- ``NBGRADER_DB_URL``: the gradebook, any SQLAlchemy URL (default: ``gradebook.db`` beside this file).
- ``NBGRADER_EXCHANGE``: the exchange folder shared with students (default: ``exchange/`` here).
- ``NBGRADER_COURSE_ID``: the course id used by the exchange (default: ``nn-image-classification``).
"""
import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

ROOT = Path(__file__).resolve().parent

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = os.environ.get("NBGRADER_COURSE_ID", "nn-image-classification")
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{ROOT / 'gradebook.db'}")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", str(ROOT / "exchange"))

# Seconds a single cell may run while grading before nbgrader interrupts it. Notebooks shrink
# their work under grading (coursekit.budget), so every cell stays well inside this.
c.Execute.timeout = 60

# Feedback shows each test's message, never the source of the hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]

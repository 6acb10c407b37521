"""nbgrader configuration of the course.

The repository root is the course directory. Machine-specific values come from the environment:

- ``NBGRADER_DB_URL``: the gradebook, any SQLAlchemy URL (default: ``gradebook.db`` beside this file).
- ``NBGRADER_EXCHANGE``: the exchange folder shared with students (default: ``exchange/`` here).
- ``NBGRADER_COURSE_ID``: the course id used by the exchange (default: ``nn-image-classification``).
"""
import os
import sys
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                    GetGrades, IgnorePattern, LimitOutput, SaveAutoGrades)

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from autograder.decisions.execute import SurvivingExecute  # noqa: E402
from autograder.pages.exporter import FeedbackHTMLExporter  # noqa: E402
from autograder.pages.formgrader import TEMPLATE_BASEDIRS, PagePolicy  # noqa: E402
from autograder.pages.html_safety import FILTERS, SanitizeNotebook  # noqa: E402
from autograder.gate.files import install_nbgrader_gate  # noqa: E402

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

# nbgrader autograde refuses, student by student, a submission holding anything but regular files
# and folders (a link, a FIFO, a device, an odd name, over the size limits): autograder/gate/files.py.
install_nbgrader_gate()

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = os.environ.get("NBGRADER_COURSE_ID", "nn-image-classification")
c.CourseDirectory.db_url = os.environ.get("NBGRADER_DB_URL", f"sqlite:///{ROOT / 'gradebook.db'}")
c.Exchange.root = os.environ.get("NBGRADER_EXCHANGE", str(ROOT / "exchange"))
# nbgrader collect takes from the exchange only what the gate lets through, and only folders their
# owner named after themselves, at the time their files last changed where the time they state is
# far from it: nbgrader's own copy follows links and trusts the names (autograder/gate/collect.py).
c.ExchangeFactory.collect = "autograder.gate.collect.GatedCollect"
# nbgrader release_feedback releases every student's page it can, and names each folder it cannot
# (no submission_secret.txt: a submission not handed in through the exchange), where nbgrader's
# own stops for the whole class at the first such student (autograder/gate/release_feedback.py).
c.ExchangeFactory.release_feedback = "autograder.gate.release_feedback.CheckedReleaseFeedback"
# nbgrader zip_collect unpacks a learning platform's download by the gate's rules: regular files and
# folders only, fixed modes, every file counted as it is written (no zip bomb fills the disk), an
# archive that breaks a rule refused alone and named (autograder/gate/archives.py).
c.ZipCollectApp.extractor_plugin = "autograder.gate.archives.CheckedExtractor"
# ... and refuses the student ids and notebook names, read from those names, that the gate would
# refuse (.. copied a file outside submitted/, = made a spreadsheet formula of a student id).
c.ZipCollectApp.collector_plugin = "autograder.gate.archives.CheckedCollector"
# The sandbox of the student's kernel and the harness have settings of their own, documented with
# their defaults in autograder/settings.py: c.Sandbox.mode, c.Sandbox.memory_mb, c.Grading.timeout...
# source/<a>/hidden_checks.py (the hidden tests' reference answers, for the instructor's runs of
# the source notebook) is never released by generate_assignment nor copied by autograde.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "hidden_checks.py"]

# Seconds a single cell may run while grading before nbgrader interrupts it. Notebooks shrink
# their work under grading (coursekit.budget), so every cell stays well inside this.
c.Execute.timeout = 60
# Seconds to wait, once a cell has finished, for the rest of its output (nbclient's default is 4):
# a cell that printed hundreds of MB on a busy machine must not fail the whole notebook.
c.Execute.iopub_timeout = 30
# Once the last cell's output is in, the kernel has nothing left to give: stop it at once instead
# of asking it to shut down and polling until it has (about half a second of waiting per notebook).
c.Execute.shutdown_kernel = "immediate"

# Autograding as nbgrader does it, except that a kernel that dies keeps the scores of the tests
# that ran before it (autograder/decisions/execute.py).
c.Autograde.autograde_preprocessors = [SurvivingExecute, IgnorePattern, ClearMetadataPreprocessor,
                                       LimitOutput, SaveAutoGrades, AssignLatePenalties,
                                       CheckCellMetadata]

# A Python warning printed on stderr (a RuntimeWarning from numpy, a DeprecationWarning) does not
# cost a correct answer its points; any other output on stderr still fails a test cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"\b\w*Warning: "

# Outputs kept per cell in graded notebooks and feedback: lines of stream output, traceback lines.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 60

# Feedback shows each test's message, never the source of the hidden tests.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, CSSHTMLHeaderPreprocessor]
# nbconvert's HTML exporter, its templates compiled once per process instead of once per student;
# its pages run no script at all (student HTML sanitised, maths as MathML, a script-free
# Content-Security-Policy) and load nothing from the network: autograder/pages/exporter.py.
c.GenerateFeedback.exporter_class = FeedbackHTMLExporter

# The formgrader shows each submission with a plain HTMLExporter configured here: student HTML
# sanitised and maths as MathML (autograder/pages/html_safety.py), and the course's formgrade partials
# (autograder/pages/templates/formgrade/): a Content-Security-Policy that runs only the page's own
# scripts, MathJax served locally by jupyter-server-mathjax. autograder/pages/formgrader.py.
c.HTMLExporter.filters = FILTERS
c.HTMLExporter.preprocessors = [SanitizeNotebook, PagePolicy]
c.HTMLExporter.extra_template_basedirs = TEMPLATE_BASEDIRS

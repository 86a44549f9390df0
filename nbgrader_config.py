"""nbgrader settings for the course.  Every value here is chosen on purpose; see docs/grader.md."""
import os

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "neural-divergence"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"

# What students find where an answer was removed.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Timeouts while autograding.
#
# Per cell (Execute.timeout, env NDE_CELL_TIMEOUT, default 60 s): the slowest legitimate
# cell that runs a student's code (training the student's trainer in a hidden test) takes
# a few seconds on a 2-core laptop, so 60 s leaves a wide margin yet stops an infinite
# loop within a minute.  After a timeout the kernel is interrupted, the cell shows a
# CellTimeoutError (0 points if it is a test cell) and the remaining cells still run.
# The course's own teaching cells ("# Run this cell", no answer used: imports, data)
# are trusted and get at least 60 s, so that the tests can lower NDE_CELL_TIMEOUT to a
# few seconds (cheap infinite-loop cases) without a loaded CI machine timing out on
# `import torch`.
#
# Per notebook (GradingExecute.notebook_budget, env NDE_NOTEBOOK_BUDGET_S, default 300 s,
# enforced by the executor that owns the kernel: no cell, visible or hidden, runs past
# it): an answer that loops forever and is called by many cells costs 60 s per cell;
# past this budget the notebook stops, the test cells not run by then score 0 with the
# reason, and grading goes on with the student's other notebooks and the other students.
CELL_TIMEOUT = int(os.environ.get("NDE_CELL_TIMEOUT", 60))
COURSE_CELL_TIMEOUT = max(CELL_TIMEOUT, 60)


def cell_timeout(cell) -> int:
    source = cell.get("source", "")
    course_cell = source.startswith("# Run this cell") and "needs(" not in source
    return COURSE_CELL_TIMEOUT if course_cell and not cell.get("metadata", {}).get("nbgrader") else CELL_TIMEOUT


c.Execute.timeout = CELL_TIMEOUT
c.Execute.timeout_func = cell_timeout
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# A test cell that a student deleted is put back (from the gradebook) and graded.
c.OverwriteCells.add_missing_cells = True


# A submission that prints without end must not swamp the gradebook or the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# The grader decides every test cell (nde_grader/execute.py; docs/grader.md, "What the grader
# guarantees"): GradingExecute runs each notebook in the grading sandbox, in a scratch
# folder holding only the student's notebooks, runs the hidden checks from outside the
# kernel and records each test cell's verdict (the visible asserts' reply, the hidden
# checks); SaveVerdicts scores the cell from it. nbgrader's own SaveAutoGrades would score
# a cell from its outputs (the first result, or anything on stderr), which the student's
# kernel controls. What a cell prints, on stdout or stderr, never costs or earns a point;
# DropWarnings removes stderr made only of warnings from what the feedback shows (whatever
# their layout: multi-line messages, PyTorch's C++ warnings; nde_student/warnings_only.py),
# and grade.py names other stderr among the problems, for a person to look at.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, GetGrades  # noqa: E402
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402

from nde_grader.execute import GradingExecute, SaveVerdicts  # noqa: E402
from nde_grader.preprocessors import DropWarnings, HideHiddenTests, LimitOutputSize  # noqa: E402

# Outputs are cut to size first, so that the warning filter never scans 100 MB.
c.Autograde.autograde_preprocessors = [
    GradingExecute, LimitOutputSize, DropWarnings, ClearMetadataPreprocessor, SaveVerdicts, AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback: the course's page (nde_grader/templates/nde_feedback): each test cell's result
# but never its hidden tests (HideHiddenTests); written answers not graded yet shown as
# such and the autograded total apart (FeedbackMarks); formulas typeset by the MathJax of
# the course's environment, never a CDN.
#
# Formgrader: nbgrader's view of a submission (its template "formgrade"), as the course's
# template nde_formgrade draws it: formulas typeset by the MathJax of the Jupyter server
# that shows it (ServerMathJax) instead of nbgrader's CDN, with the fonts it ships, as in
# the feedback (nde_grader/templates/nde_view.html.j2 holds what both pages share).
#
# A submitted notebook is untrusted, and both the feedback and formgrader (where an
# instructor grades in a logged-in Jupyter session) show it: SafeView
# (nde_grader/safe_view.py) makes it safe to render first, the same way for both: images
# embedded only from the student's own folder and the course's images/, markdown and HTML
# outputs sanitised (nh3), JavaScript, widgets and other output types dropped. Formgrader
# builds its exporter as HTMLExporter(config=<this config>), so it gets SafeView from
# HTMLExporter.preprocessors. FeedbackExporter, an HTMLExporter, would inherit that too and
# run it before nbgrader's GetGrades: it runs none of its own, and GenerateFeedback runs
# SafeView once, after the grades and marks are in the notebook.
import nbgrader as _nbgrader  # noqa: E402

from nde_grader.preprocessors import FeedbackExporter, FeedbackMarks, ServerMathJax  # noqa: E402
from nde_grader.safe_view import SafeView  # noqa: E402

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__import__("nde_grader").__file__)), "templates")
FORMGRADER = os.path.join(os.path.dirname(_nbgrader.__file__), "server_extensions", "formgrader")
c.HTMLExporter.preprocessors = [SafeView, ServerMathJax]  # formgrader
c.HTMLExporter.template_name = "nde_formgrade"
# formgrader's templates and the course's (FeedbackExporter's too); nde_formgrade extends
# formgrade/index.html.j2, and both pages import TEMPLATES/nde_view.html.j2
c.HTMLExporter.extra_template_basedirs = [os.path.join(FORMGRADER, "templates"), TEMPLATES]
c.HTMLExporter.extra_template_paths = [TEMPLATES, os.path.join(FORMGRADER, "templates")]
c.FeedbackExporter.preprocessors = []
# generate_feedback sets HTMLExporter.extra_template_paths to Bootstrap's CSS, which the page embeds
c.FeedbackExporter.extra_template_paths = [
    os.path.join(FORMGRADER, "static", "node_modules", "bootstrap", "dist", "css"), TEMPLATES,
]
c.GenerateFeedback.preprocessors = [GetGrades, FeedbackMarks, HideHiddenTests, SafeView, CSSHTMLHeaderPreprocessor]
c.GenerateFeedback.exporter_class = FeedbackExporter
c.FeedbackExporter.template_name = "nde_feedback"

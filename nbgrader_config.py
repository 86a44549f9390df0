"""nbgrader settings for the course.  Every value here is chosen on purpose; see README "Grading"."""
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

# Timeouts while autograding.  Per cell: the slowest legitimate cell (training the
# student's trainer in a hidden test) takes a few seconds on a 2-core laptop, so 60 s
# leaves a wide margin yet stops an infinite loop within a minute.  After a timeout the
# kernel is interrupted and the remaining cells still run.  The whole notebook is
# bounded separately by `python -m course grade` (see course/grade.py).
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120

# A submission that prints without end must not swamp the gradebook or the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 50

# nbgrader scores a test cell that writes to stderr as 0 points.  A Python warning is
# not a failure: drop stderr streams that are only warnings before grades are read.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"^(?:[^\n]*\b\w*Warning: [^\n]*\n(?:  [^\n]*\n)*)+$"

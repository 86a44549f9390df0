"""The instructor's grading library: reference answers, hidden checks, the grading sandbox.

None of it reaches students (``python -m course bundle`` leaves it out, and a test scans
the bundle for it), and none of it is visible to a grading kernel:

- ``reference``  the course's answers, generated from the notebooks' cells tagged export;
- ``checks``     the hidden checks. They run in the grader's process and reach the
                 student's code through a ``probe`` (``probe.py``); they compute what
                 a correct answer gives there, outside the student's kernel;
- ``harness``    the small routines a probe runs inside the student's kernel: they call
                 the student's code on the check's inputs and send back what it returned,
                 never an answer or an expected value;
- ``execute``    nbgrader's Execute preprocessor for grading: every kernel in a sandbox
                 (``sandbox.py``, on bubblewrap; kernels forked by ``zygote.py``, for
                 which ``zygote_client.py`` stands in), hidden checks across the boundary,
                 and the grader's own verdict of every test cell (``SaveVerdicts`` scores
                 from it, never from the cell's outputs);
- ``journal``    what the executor reports of each notebook to course/autograde.py;
- ``safe_view``  a submitted notebook made safe to show in the feedback and formgrader.
"""

"""The instructor's grading library: reference answers, hidden checks, the grading sandbox.

None of it reaches students (``python -m course bundle`` leaves it out, and a test scans
the bundle for it), and none of it is visible to a grading kernel. Its modules:

What is graded against
- ``reference/``    the course's answers, generated from the notebooks' cells tagged export
                    (by ``reference_build.py``: the cells as code, the ``from_notebook`` lines resolved);
- ``oracle``        the Gaussian problem in closed form and double precision (pairs, t*,
                    log-mean-exp, DV, the noise floor), for the checks, benchmarks and scripts;
- ``checks/``       the hidden checks, one module per notebook. They run in the grader's
                    process and reach the student's code through a ``probe`` (``probe.py``);
                    they compute what a correct answer gives there, outside the kernel;
- ``harness/``      the small routines a probe runs inside the student's kernel: they call
                    the student's code on the check's inputs and send back what it returned,
                    never an answer or an expected value;
- ``hidden``        the ``check("<key>.<function>")`` lines of the test cells, read and
                    stripped (the kernel runs a test cell without them).

How a notebook is graded
- ``execute``       nbgrader's Execute preprocessor for grading: every kernel in a sandbox
                    (``kernel/``: ``sandbox.py`` on bubblewrap, kernels forked by a zygote,
                    ``warm.py`` and ``zygote.py``, for which ``zygote_client.py`` stands in),
                    hidden checks across the boundary,
                    and the grader's own verdict of every test cell (``SaveVerdicts`` scores
                    from it, never from the cell's outputs);
- ``preprocessors`` the course's other nbgrader preprocessors and the feedback's exporter
                    (nbgrader_config.py names them): output limits, warnings dropped, hidden
                    tests kept out of feedback, MathJax served by the course, marks per cell;
- ``journal``       what the executor reports of each notebook to course/autograde.py;
- ``review``        answer cells that reach for the course's answers: flagged for a person;
- ``syntax``        ``ast.parse`` that is safe in the grader's threads.

What the instructor sees
- ``safe_view``     a submitted notebook made safe to show in the feedback and formgrader;
- ``templates/``    the feedback and formgrader pages (typeset offline with the course's MathJax);
- ``gradebook_csv`` grades out of the gradebook: the course's CSV and Canvas's (nbgrader's
                    export plugins).
"""

"""The grading kernels' machinery: where a student's code runs while it is graded.

- ``sandbox``        bubblewrap around every grading kernel: what it sees, its limits, its
                     user; ``self_test`` checks a machine before grading;
- ``warm``           the grader's handle on a zygote, one per grading thread (``Zygote``);
- ``zygote``         the zygote itself, run alone inside the sandbox: it imports the heavy
                     modules once and forks a kernel per notebook;
- ``zygote_client``  the process Jupyter starts for a kernel: it asks the zygote for one and
                     stands in for it (signals, exit).

``zygote.py`` and ``zygote_client.py`` run as files of their own (``python -I``) and import
nothing of the course; nde_grader/execute.py starts kernels through this package.
"""

"""Sphinx configuration of the course's website (built by `python -m course site`).

The pages are the students' release notebooks (no answers, no hidden tests), read by
myst-nb, the notebook reader of Jupyter Book, and laid out by Jupyter Book's theme
(sphinx-book-theme). `course/site.py` stages the notebooks into the source folder and
runs Sphinx with this folder as its configuration folder.
"""
import sys
from pathlib import Path

from nde_grader.preprocessors import MATHJAX_FONTS

sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "Neural estimation of divergence"

extensions = ["myst_nb", "course_site"]
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints"]

# myst-nb runs nothing: course/site.py runs the release notebooks and keeps the outputs
# of their teaching cells that need no answer; the pages show those.
nb_execution_mode = "off"
# $...$ and $$...$$ as in JupyterLab; \begin{align} blocks at top level.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_dmath_double_inline = True

# Headings get JupyterLab's anchors (their text, spaces turned into '-'), so that links
# such as 01_problem.ipynb#The-DV-formula work on the site as in JupyterLab.
myst_heading_anchors = 6
myst_heading_slug_func = "course_site.jupyterlab_slug"

# Formulas: MathJax 2.7 of the course's environment (jupyter-server-mathjax), copied to
# _static/mathjax/ by the course_site extension; nothing is fetched from the internet.
mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full"
mathjax2_config = {
    # MyST marks its sections tex2jax_ignore and its formulas .math (\(...\), \[...\]):
    # typeset those only, never a $ or \( in the prose or the code
    "tex2jax": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]],
                "processClass": "math|output_area", "processRefs": False, "processEnvironments": False},
    **MATHJAX_FONTS,  # the fonts jupyter-server-mathjax ships (as on the feedback pages)
    "showMathMenu": False,
    "messageStyle": "none",
}

html_theme = "sphinx_book_theme"
html_static_path = ["_static"]  # course.js and course.css: the note shown while formulas are typeset
html_title = project
html_copy_source = False  # the staged notebooks; students get the release notebook beside each page
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "home_page_in_toc": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "show_navbar_depth": 1,
    "navigation_with_keys": False,
    "footer_content_items": [],
}
html_show_sphinx = False

# Where the "Open in JupyterLab" link of each page points: a student's own JupyterLab,
# started with `jupyter lab` in the folder of the student bundle (release/ is there).
# `python -m course site --lab-url URL` sets it (a JupyterHub: .../user-redirect/lab/tree/).
course_lab_url = "http://localhost:8888/lab/tree/"

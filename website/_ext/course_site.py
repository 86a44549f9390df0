"""Sphinx extension of the course's website.

- puts a line at the top of each notebook's page: the notebook to open in JupyterLab
  (``course_lab_url`` + its path in the student bundle) and the release notebook itself,
  which `course/site.py` writes beside the page;
- copies the MathJax of the course's environment (jupyter-server-mathjax) into
  ``_static/mathjax/``, so that formulas are typeset without the internet;
- shows that a page is still typesetting its formulas (website/_static/course.js and
  course.css, told by MathJax's hooks below how far it is).
"""
from __future__ import annotations

import html
import shutil
from pathlib import Path, PurePosixPath

BANNER = (
    '<div class="admonition note course-open-in-lab">'
    '<p class="admonition-title">Work on this notebook</p>'
    '<p><a class="reference external course-lab-link" href="{lab}">Open in JupyterLab</a>: '
    "<code>{path}</code> in the folder of your student bundle, with <code>jupyter lab</code> "
    'running there. Or <a class="reference internal course-download-link" href="{name}" '
    'download="{name}">download {name}</a>.</p></div>\n'
)


def jupyterlab_slug(text: str) -> str:
    """The anchor JupyterLab gives a rendered heading: its text, spaces turned into '-'."""
    return text.strip().replace(" ", "-")


def _banner(app, pagename, templatename, context, doctree):
    if doctree is None or app.env.doc2path(pagename).suffix != ".ipynb":
        return
    path = PurePosixPath(pagename + ".ipynb")
    context["body"] = BANNER.format(lab=html.escape(app.config.course_lab_url + path.as_posix()),
                                    path=html.escape(path.as_posix()), name=html.escape(path.name)) + context["body"]


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    shutil.copytree(source, Path(app.outdir) / "_static" / "mathjax", dirs_exist_ok=True)


# MathJax 2 runs this with its configuration: each formula typeset, and the end of the
# page's first typesetting, reach course.js.
MATHJAX_HOOKS = ('MathJax.Hub.Register.MessageHook("New Math", function () { window.courseTypeset.progress(); });\n'
                 'MathJax.Hub.Register.StartupHook("End", function () { window.courseTypeset.done(); });')


def setup(app):
    app.add_config_value("course_lab_url", "http://localhost:8888/lab/tree/", "html")
    app.add_css_file("course.css")
    app.add_js_file("course.js")
    app.add_js_file(None, type="text/x-mathjax-config", body=MATHJAX_HOOKS)
    app.connect("html-page-context", _banner)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

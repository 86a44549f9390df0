"""Build the course as a static website, from the students' notebooks.

    python -m course site [--out dist/site] [--lab-url URL]

The pages are the release notebooks (release/<assignment>/*.ipynb, what
`python -m course regenerate` makes from the MyST files: answers replaced by stubs,
written answers by "YOUR ANSWER HERE", hidden tests removed), never source/ or the
MyST files, which hold the answers. They are read by myst-nb, the notebook reader of
Jupyter Book, and laid out by Jupyter Book's theme (Sphinx, sphinx-book-theme; the
configuration is website/conf.py).

Outputs: the build runs each release notebook as a student gets it, with no answer in it
and none anywhere in its kernel (the notebooks beside it are release notebooks too, so
``from_notebook`` finds no answer either), and shows the outputs of the teaching cells
("# Run this cell") that ran to the end without waiting for an answer: no error, nothing
on stderr, none of nde_student's lines that stand in for a result until an exercise is
answered. Every other cell is shown without outputs. Whatever is shown was computed
without the answers, so it cannot hold one (tests/test_site.py scans it all the same).
Figures are drawn as SVG, text that the scan reads.

The build stages the notebooks in a temporary folder, with the same depth as in the
repository so that the figures' links ../../images/<name>.svg resolve, and with the
links between notebooks made resolvable by Sphinx:

- ``[(DV)](01_problem.ipynb#cell-id=dv-formula)`` (JupyterLab's link to a cell id,
  which the MyST source names with ``+++ {"anchor": "dv-formula"}``): the target cell
  gets a MyST label ``(01_problem-cell-dv-formula)=`` and the link points at it;
- ``[(DV)](01_problem.ipynb#The-DV-formula)`` (JupyterLab's heading anchor): resolved
  by MyST's heading anchors, whose slugs website/conf.py makes JupyterLab's.

Sphinx runs with warnings as errors, so a link or figure that does not resolve stops
the build. Output (``--out``, default dist/site/, replaced):

    index.html                                    the course's contents
    release/<assignment>/<name>.html              one page per notebook
    release/<assignment>/<name>.ipynb             the release notebook, to download
    _images/*.svg  _static/  _static/mathjax/     figures, theme, MathJax 2.7 (offline)
    search.html  searchindex.js  genindex.html    Sphinx's search and index

Each notebook's page starts with "Open in JupyterLab" (``--lab-url`` followed by the
notebook's path in the student bundle, release/<assignment>/<name>.ipynb) and a link
to download the notebook. tests/test_site.py builds the site, scans every file for the
instructor's lines and opens every page in Chromium with the network off.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

import nde_student.util

from . import NOTEBOOKS, RELEASE, ROOT, CourseError, tool_env
from .bundle import _clean_notebook

WEBSITE = ROOT / "website"
DEFAULT_OUT = ROOT / "dist" / "site"
DEFAULT_LAB_URL = "http://localhost:8888/lab/tree/"
# A markdown link to a cell of a notebook, the way JupyterLab follows it.
CELL_LINK = re.compile(r"\]\((?P<file>[\w.-]+\.ipynb)#cell-id=(?P<id>[^)\s]+)\)")
# A teaching cell, which needs nothing from the student (CONTRIBUTING.md, "Cells").
TEACHING = "# Run this cell"
# What nde_student prints instead of a result while an answer is missing.
WAITING = re.compile("^(" + "|".join(map(re.escape, nde_student.util.WAITING)) + ")", re.M)
# The outputs a page shows: text, HTML tables and SVG figures (no scripts, no widgets).
SHOWN = ("text/plain", "text/html", "image/svg+xml")
FIGURES_AS_SVG = "%config InlineBackend.figure_formats = ['svg']"
# The line of website/index.md where the list of the notebooks goes.
NOTEBOOK_LIST = re.compile(r"^% NOTEBOOKS .*$", re.M)
CELL_TIMEOUT = 300  # seconds


def release_notebooks(release: Path = RELEASE) -> dict[str, Path]:
    """The students' notebooks, in lesson order, whatever the release holds now: their
    path on the site (release/<assignment>/<name>.ipynb) -> their file."""
    return {f"release/{p.parent.name}/{p.name}": p for p in sorted(release.glob("*/*.ipynb"))}


def label(stem: str, cell_id: str) -> str:
    """The MyST label the site gives a cell that other notebooks link to (the page's
    anchor is this label, e.g. #cell-01-problem-dv-formula)."""
    return f"cell-{stem}-{cell_id}"


def stage_notebooks(paths: dict[str, Path]) -> dict[str, nbformat.NotebookNode]:
    """site path -> the notebook as the site reads it: the release notebook, cleaned as in
    the student bundle, with its links to cells and their targets turned into MyST labels."""
    notebooks = {rel: nbformat.reads(_clean_notebook(p), as_version=4) for rel, p in paths.items()}
    wanted: dict[tuple[str, str], str] = {}  # (folder/file, cell id) -> the first notebook that links there

    def relabel(match: re.Match, folder: str, where: str) -> str:
        target = f"{folder}/{match['file']}"
        wanted.setdefault((target, match["id"]), where)
        return f"]({match['file']}#{label(Path(match['file']).stem, match['id'])})"

    for rel, nb in notebooks.items():
        folder = rel.rsplit("/", 1)[0]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = CELL_LINK.sub(lambda m: relabel(m, folder, rel), cell.source)
    for (target, cell_id), where in sorted(wanted.items()):
        nb = notebooks.get(target)
        index = next((i for i, c in enumerate(nb.cells) if c.get("id") == cell_id), None) if nb else None
        if index is None:
            raise CourseError(f"{where} links to {Path(target).name}#cell-id={cell_id}: no such notebook or cell in release/")
        name = f"({label(Path(target).stem, cell_id)})=\n"
        cell = nb.cells[index]
        if cell.cell_type == "markdown":
            cell.source = name + cell.source
        else:  # a label stands before a block: give a code cell a markdown cell of its own
            nb.cells.insert(index, nbformat.v4.new_markdown_cell(name))
    return notebooks


def notebook_list(paths: dict[str, Path]) -> str:
    """The home page's list of the notebooks (MyST): each one's title, a link to its page,
    and its line of website/notebooks.toml."""
    lines = tomllib.loads((WEBSITE / "notebooks.toml").read_text(encoding="utf-8"))
    items = []
    for number, rel in enumerate(paths, 1):
        line = lines.get(Path(rel).stem)
        items.append(f"{number}. {{doc}}`{rel.removesuffix('.ipynb')}`" + (f": {line}" if line else ""))
    return "\n".join(items)


def teaching_outputs(cell: nbformat.NotebookNode) -> list | None:
    """The outputs the site shows of a cell of a release notebook that ran, or None: only a
    teaching cell's, only when it ran to the end without waiting for an answer."""
    from nbgrader.utils import is_grade, is_solution  # importing nbgrader takes seconds: only when needed

    if cell.cell_type != "code" or is_solution(cell) or is_grade(cell) or not cell.source.startswith(TEACHING):
        return None
    shown = []
    for out in cell.outputs:
        if out.output_type == "error" or (out.output_type == "stream" and out.name != "stdout"):
            return None
        text = out.get("text", "") if out.output_type == "stream" else out.get("data", {}).get("text/plain", "")
        if WAITING.search(text):
            return None
        if out.output_type == "stream":
            shown.append(out)
        elif out.output_type in ("execute_result", "display_data"):
            data = {mime: value for mime, value in out.data.items() if mime in SHOWN}
            if data:
                shown.append(nbformat.v4.new_output("display_data", data=data))
    return shown or None


def _run(path: Path) -> nbformat.NotebookNode:
    """Run a release notebook in its folder as a student would, headless, figures as SVG
    (the self-check's runner)."""
    from nde_student.selfcheck import run

    try:
        return run(path, timeout=CELL_TIMEOUT, setup=FIGURES_AS_SVG, env=tool_env(
            MPLBACKEND="module://matplotlib_inline.backend_inline", OMP_NUM_THREADS="1"))
    except Exception as exc:  # noqa: BLE001 (named with the notebook)
        raise CourseError(f"{path.name} did not run to its end for the site's outputs: {type(exc).__name__}: "
                          f"{str(exc).strip()[:500]}") from exc


def release_outputs(paths: dict[str, Path]) -> dict[str, dict[str, list]]:
    """site path -> {cell id: the outputs the page shows}, from a run of every release
    notebook in a copy of its folder (beside the other release notebooks, no answer anywhere)."""
    with tempfile.TemporaryDirectory(prefix="course-site-run-") as tmp:
        copies = {}
        for rel, path in paths.items():
            copies[rel] = Path(tmp) / rel
            copies[rel].parent.mkdir(parents=True, exist_ok=True)
            copies[rel].write_text(_clean_notebook(path), encoding="utf-8")
        with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            ran = dict(zip(copies, pool.map(_run, copies.values())))
    return {rel: {cell.id: shown for cell in nb.cells if (shown := teaching_outputs(cell))} for rel, nb in ran.items()}


def stage(src: Path, paths: dict[str, Path], outputs: dict[str, dict[str, list]]) -> None:
    """Write the Sphinx source folder: the site's own pages, the notebooks (with the
    ``outputs`` of their teaching cells), the figures."""
    if not paths:
        raise CourseError("release/ holds no notebook: run `python -m course regenerate` first")
    for page in sorted(WEBSITE.glob("*.md")):
        shutil.copy(page, src / page.name)
    index = (WEBSITE / "index.md").read_text(encoding="utf-8")
    if not NOTEBOOK_LIST.search(index):
        raise CourseError("website/index.md has no line '% NOTEBOOKS ...' where the list of the notebooks goes")
    (src / "index.md").write_text(NOTEBOOK_LIST.sub(lambda _: notebook_list(paths), index, count=1), encoding="utf-8")
    for rel, nb in stage_notebooks(paths).items():
        for cell in nb.cells:
            if cell.get("id") in outputs.get(rel, {}):
                cell.outputs = outputs[rel][cell.id]
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    shutil.copytree(ROOT / "images", src / "images")


def _check_out(out: Path) -> None:
    if out == ROOT or out in ROOT.parents or (out.is_relative_to(ROOT) and out.parts[len(ROOT.parts)] != "dist"):
        raise CourseError(f"write the site outside the course's own folders (under dist/ or elsewhere), not {out}")
    if out.exists() and any(out.iterdir()) and not (out / ".buildinfo").exists():
        raise CourseError(f"{out} exists and is not a site built by Sphinx: choose another --out")


def build_site(out: Path, lab_url: str = DEFAULT_LAB_URL, release: Path = RELEASE, run: bool = True) -> list[str]:
    """Build the site of the notebooks under ``release`` (the course's release/) into
    ``out``, replacing an earlier site there; return its pages. ``run``: show the outputs
    of the teaching cells (the notebooks are run); without it no page shows an output."""
    out = Path(out).resolve()
    _check_out(out)
    missing = [name for name in ("sphinx", "myst_nb", "sphinx_book_theme", "jupyter_server_mathjax")
               if importlib.util.find_spec(name) is None]
    if missing:
        raise CourseError(f"the site needs {', '.join(missing)}: install requirements.txt (`make setup`)")
    if not lab_url.endswith("/"):
        lab_url += "/"
    with tempfile.TemporaryDirectory(prefix="course-site-") as tmp:
        src, html = Path(tmp) / "src", Path(tmp) / "html"
        src.mkdir()
        released = release_notebooks(release)
        stage(src, released, release_outputs(released) if run and released else {})
        cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-n", "-W", "--keep-going",
               "-c", str(WEBSITE), "-d", str(Path(tmp) / "doctrees"), "-D", f"course_lab_url={lab_url}",
               str(src), str(html)]
        done = subprocess.run(cmd, capture_output=True, text=True, env=tool_env())
        if done.returncode:
            log = (done.stdout + done.stderr).replace(str(src) + "/", "")
            raise CourseError("the site did not build (Sphinx, warnings are errors; the release notebooks named "
                              "are made from notebooks/<assignment>/<name>.md: fix it there, then "
                              f"`python -m course regenerate`):\n{log[-6000:]}")
        for rel, path in released.items():  # the notebook itself, beside its page, to download
            (html / rel).write_text(_clean_notebook(path), encoding="utf-8")
        shutil.rmtree(html / "_sources", ignore_errors=True)  # empty: html_copy_source is off
        if out.exists():
            shutil.rmtree(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(html, out)
    return pages(out)


def pages(site: Path) -> list[str]:
    """The HTML pages of a built site (not the theme's templates under _static/)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if "_static" not in p.parts)


def unreleased() -> list[str]:
    """MyST files that have no release notebook yet (the site shows release/ only)."""
    return [md.relative_to(ROOT).as_posix() for md in sorted(NOTEBOOKS.glob("*/*.md"))
            if not (RELEASE / md.parent.name / f"{md.stem}.ipynb").exists()]


def main(out: str | None = None, lab_url: str = DEFAULT_LAB_URL) -> int:
    target = Path(out) if out else DEFAULT_OUT
    for md in unreleased():
        print(f"note: {md} has no release notebook yet, so no page: run `python -m course regenerate` first")
    started = time.monotonic()
    written = build_site(target, lab_url)
    print(f"wrote the site to {target}/ in {time.monotonic() - started:.0f} s: {len(written)} pages; "
          f"open {target / 'index.html'}")
    return 0

"""A hostile submission shows nothing unsafe in the feedback nor in formgrader (SafeView,
nde_grader/safe_view.py), and the student's legitimate content is all still there."""
from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from course import ASSIGNMENT, ROOT, tool_env

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")  # nbgrader's add_submission
NOTEBOOK = "essay"
FIGURE = "network.svg"  # a course figure, linked as the notebooks link them
CANARY = b"\x89PNG\r\n\x1a\nCANARY-of-bob-7f3a9c: another student's private file"
OWN = b"\x89PNG\r\n\x1a\nmallory's own figure, in her submission folder"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\na tiny valid picture").decode()
WRITTEN = {"grade": True, "solution": True, "locked": False, "points": 2, "grade_id": "written", "schema_version": 3}

LEGIT_MD = r"""Legitimate paragraph: the bound holds.

Second paragraph, with a code span `a < b && c` and math $D(P\|Q) < \infty$, $f'(x) \ge g''(x) & h$.

| estimator | bias |
|:----------|-----:|
| DV        | $< 0.1$ |

![own figure](own.png) ![course figure](../../images/network.svg)
"""

HOSTILE_MD = LEGIT_MD + """
<script>alert("script")</script><style>body { display: none }</style>
<img src=x onerror="alert('onerror')"> <a href="javascript:alert('link')">js link</a>
<a href="jav&#x09;ascript:alert('tab')">tab link</a> [md link](javascript:alert('md'))
<a href="data:text/html,<script>alert('data')</script>">data link</a>
<iframe src="https://evil.example/"></iframe><object data="https://evil.example/x"></object>
<embed src="https://evil.example/x">
<form action="https://evil.example/"><input name="q" onfocus="alert(1)" autofocus></form>
<svg><script>alert('svg')</script></svg><math><mi xlink:href="javascript:alert('mathml')">m</mi></math>
<base href="https://evil.example/"><meta http-equiv="refresh" content="0; url=https://evil.example/">
<details open ontoggle="alert('toggle')"><summary>more</summary>hidden</details>
<div style="position: fixed; top: 0" class="score full-credit" data-link="x">overlay</div>

![sibling](../../bob/divergence/secret.png)
![submitted](../../../submitted/bob/divergence/secret.png)
![from release](../../submitted/bob/divergence/secret.png)
![autograded](../../autograded/bob/divergence/secret.png)
<img src="../../bob/divergence/secret.png">
![absolute]({canary})
![file](file://{canary})
![remote](https://evil.example/pixel.png)
![symlink](link.png)
![html attachment](attachment:page.html)
![bad base64](attachment:bad.png)
![missing](attachment:missing.png)
![good attachment](attachment:good.png)
<img src="data:image/png;base64,AAAA&quot; onerror=&quot;alert('broken')">
"""
REFUSED = ["../../bob/divergence/secret.png", "../../../submitted/bob/divergence/secret.png",
           "../../submitted/bob/divergence/secret.png", "../../autograded/bob/divergence/secret.png",
           "../../bob/divergence/secret.png", "{canary}", "file://{canary}", "https://evil.example/pixel.png",
           "link.png", "attachment:page.html", "attachment:bad.png", "attachment:missing.png", "x"]
"""The refused images' sources of the written answer, each named in a note."""

OTHER_MD = """## A heading

- a list item
- another, with **bold**

> a quote

$$
\\sum_i p_i \\log \\frac{p_i}{q_i} < \\infty, \\quad a' & b
$$
"""


def hostile_notebook(canary: Path) -> nbformat.NotebookNode:
    written = new_markdown_cell(HOSTILE_MD.replace("{canary}", str(canary)), metadata={"nbgrader": WRITTEN})
    written.attachments = {
        "page.html": {"text/html": base64.b64encode(b"<script>alert('attachment')</script>").decode()},
        "bad.png": {"image/png": "AAAA\" onerror=\"alert('attachment')"},
        "good.png": {"image/png": PNG},
    }
    outputs = [
        new_output("execute_result", execution_count=1, data={
            "text/html": "<b>html output</b><script>alert('html')</script><img src=x onerror=alert('html')>",
            "text/plain": "<html fallback>"}),
        new_output("display_data", data={"application/javascript": "alert('js')", "text/plain": "js fallback"}),
        new_output("display_data", data={"image/svg+xml": "<svg xmlns='http://www.w3.org/2000/svg'>"
                                         "<script>alert('svg output')</script><circle r='4'/></svg>"}),
        new_output("display_data", data={"text/markdown": "**markdown output** <img src=x onerror=alert('md')>"
                                         " [j](javascript:alert('md'))"}),
        new_output("display_data", data={"text/latex": "$x < y$ </div><script>alert('latex')</script>"}),
        new_output("display_data", data={"image/png": "iVBORw0KGgo=\" onerror=\"alert('png')",
                                         "text/plain": "bad png fallback"}),
        new_output("display_data", data={"image/png": PNG}, metadata={
            "image/png": {"width": "10 onerror=alert('width')", "height": 5}, "filenames": {"image/png": "../x.png"}}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "m1"},
                                         "text/plain": "widget fallback"}),
        new_output("display_data", data={"text/html": "<p>isolated</p>"}, metadata={"text/html": {"isolated": True}}),
        new_output("stream", name="stdout", text="<script>alert('stdout')</script>\x1b[31mred\x1b[0m"),
        new_output("error", ename="ValueError", evalue="bad",
                   traceback=["\x1b[31m<img src=x onerror=alert('traceback')>\x1b[0m"]),
    ]
    code = new_code_cell("print('hello')", execution_count=1, outputs=outputs,
                         metadata={"tags": ["ok-tag", "x\" onmouseover=\"alert('tag')", "a b"]})
    nb = new_notebook(cells=[
        new_markdown_cell("# Essay\n\nThe student's answers."), written, new_markdown_cell(OTHER_MD), code,
        new_raw_cell("<script>alert('raw')</script>", metadata={"raw_mimetype": "text/html"}),
    ])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {}, "version_major": 2, "version_minor": 0}}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def clean_notebook() -> nbformat.NotebookNode:
    """The same notebook without the attacks: what the templates themselves put in a page."""
    return new_notebook(cells=[
        new_markdown_cell("# Essay\n\nThe student's answers."),
        new_markdown_cell(LEGIT_MD, metadata={"nbgrader": WRITTEN}), new_markdown_cell(OTHER_MD),
        new_code_cell("print('hello')", execution_count=1,
                      outputs=[new_output("stream", name="stdout", text="hello\n")]),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """A course with one notebook: mallory's hostile submission, carol's clean one, bob's
    private file (the canary) beside them, and the course figures."""
    from nbgrader.api import Gradebook

    course = tmp_path_factory.mktemp("safe-view-course")
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "images", course / "images")
    for tree in ("autograded", "submitted"):
        (course / tree / "bob" / ASSIGNMENT).mkdir(parents=True)
        (course / tree / "bob" / ASSIGNMENT / "secret.png").write_bytes(CANARY)
    mallory = course / "autograded" / "mallory" / ASSIGNMENT
    carol = course / "autograded" / "carol" / ASSIGNMENT
    mallory.mkdir(parents=True)
    carol.mkdir(parents=True)
    (mallory / "own.png").write_bytes(OWN)
    (carol / "own.png").write_bytes(OWN)
    (mallory / "link.png").symlink_to(course / "autograded" / "bob" / ASSIGNMENT / "secret.png")
    nbformat.write(hostile_notebook(course / "autograded" / "bob" / ASSIGNMENT / "secret.png"),
                   mallory / f"{NOTEBOOK}.ipynb")
    nbformat.write(clean_notebook(), carol / f"{NOTEBOOK}.ipynb")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PATH", tool_env()["PATH"])  # nbgrader runs alembic from there
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            gb.add_assignment(ASSIGNMENT)
            gb.update_or_create_notebook(NOTEBOOK, ASSIGNMENT)
            gb.update_or_create_grade_cell("written", NOTEBOOK, ASSIGNMENT, max_score=2, cell_type="markdown")
            gb.update_or_create_solution_cell("written", NOTEBOOK, ASSIGNMENT)
            for student in ("mallory", "carol"):
                gb.add_student(student)
                gb.add_submission(ASSIGNMENT, student)
    return course


@pytest.fixture(scope="module")
def feedback(course) -> dict[str, str]:
    """student -> the feedback page that a real ``nbgrader generate_feedback`` writes."""
    run = subprocess.run([sys.executable, "-m", "nbgrader", "generate_feedback", ASSIGNMENT, "--force",
                          "--log-level=WARN"], cwd=course, env=tool_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return {s: (course / "feedback" / s / ASSIGNMENT / f"{NOTEBOOK}.html").read_text(encoding="utf-8")
            for s in ("mallory", "carol")}


def formgrader_exporter(course: Path):
    """The exporter that formgrader builds: HTMLExporter(config=...) from the course's
    nbgrader_config.py, with formgrader's own template settings."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

    cwd = os.getcwd()
    os.chdir(course)  # where formgrader looks for nbgrader_config.py and the course root
    try:
        formgrader = FormgradeExtension()
        formgrader.initialize([])
        return HTMLExporter(config=formgrader.config)
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="module")
def formgrade(course) -> dict[str, str]:
    """student -> the page formgrader's SubmissionHandler renders for the submission."""
    exporter = formgrader_exporter(course)
    pages = {}
    cwd = os.getcwd()
    os.chdir(course)
    try:
        for student in ("mallory", "carol"):
            resources = {"assignment_id": ASSIGNMENT, "notebook_id": NOTEBOOK, "submission_id": "s1", "index": 0,
                         "total": 2, "base_url": "", "student": "x", "last_name": "x", "first_name": "x",
                         "notebook_path": "x"}
            path = course / "autograded" / student / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
            pages[student], _ = exporter.from_filename(str(path), resources=resources)
    finally:
        os.chdir(cwd)
    return pages


def scripts(soup) -> Counter:
    return Counter((s.get("src"), s.get("type"), s.get_text().strip()) for s in soup.find_all("script"))


def encodings(data: bytes) -> list[str]:
    """Every base64 text that embeds ``data`` at any offset (a distinctive middle part)."""
    out = []
    for shift in range(3):
        text = base64.b64encode(b"\0" * shift + data).decode()
        out.append(text[4:-4])
    return out


def handlers(soup) -> Counter:
    return Counter((t.name, a, t[a]) for t in soup.find_all(True) for a in t.attrs if a.lower().startswith("on"))


def check_page(page: str, clean: str, canary: Path) -> None:
    """``page`` (mallory's) holds nothing unsafe beyond what ``clean`` (the same page of a
    clean notebook: the template's own) holds, a note for each refused image, and all of
    the student's legitimate content."""
    soup, reference = BeautifulSoup(page, "html.parser"), BeautifulSoup(clean, "html.parser")
    extra = scripts(soup) - scripts(reference)
    assert not extra, f"scripts that the template does not write: {list(extra)[:3]}"
    extra = handlers(soup) - handlers(reference)  # formgrader's own: two onclick of its name toggle
    assert not extra, extra
    urls = [(t.name, a, v) for t in soup.find_all(True) for a, v in t.attrs.items()
            if isinstance(v, str) and re.sub(r"[\x00-\x20]", "", v).lower().startswith(("javascript:", "vbscript:",
                                                                                         "data:text"))]
    assert not urls, urls
    for tag in ("iframe", "object", "embed", "form", "base", "svg", "math", "frame", "applet"):
        assert not soup.find_all(tag), f"a <{tag}> in the page"
    for tag in ("style", "meta", "link", "input", "textarea", "button", "select"):
        assert len(soup.find_all(tag)) == len(reference.find_all(tag)), f"a <{tag}> of the student's"
    styles = {t["style"] for t in soup.find_all(style=True)} - {t["style"] for t in reference.find_all(style=True)}
    assert all(re.fullmatch(r"text-align:(left|right)", s) for s in styles), styles
    overlay = soup.find(string=re.compile("overlay")).parent  # class names that formgrader's scripts act on
    assert not {"score", "full-credit"} & set(overlay.get("class", []))
    assert not {"style", "data-link"} & set(overlay.attrs)
    tags = [c for t in soup.find_all(class_=True) for c in t["class"] if c.startswith("celltag_")]
    assert tags == ["celltag_ok-tag"], tags
    assert "CANARY" not in page and not any(e in page for e in encodings(CANARY)), "bob's file is in the page"
    # every refused image has its note
    notes = [n.get_text() for n in soup.find_all("span", class_="nde-refused")]
    assert len(notes) == len(REFUSED) + 2, notes  # and the broken data URL, the html output's <img src=x>
    for src in REFUSED:
        src = src.replace("{canary}", str(canary))
        assert any(n.startswith(f"[image not shown: {src[:80]}") for n in notes), (src, notes)  # a long one cut
    # dropped outputs, kept fallbacks, escaped text
    text = soup.get_text()
    for shown in ("js fallback", "widget fallback", "bad png fallback", "<script>alert('stdout')</script>",
                  "<img src=x onerror=alert('traceback')>", "<script>alert('raw')</script>",
                  "$x < y$ </div><script>alert('latex')</script>", "html output", "markdown output", "isolated"):
        assert shown in text, shown
    svg = [i for i in soup.find_all("img") if i.get("src", "").startswith("data:image/svg+xml;base64,")
           and b"svg output" in base64.b64decode(i["src"].split(",", 1)[1])]
    assert len(svg) == 1, "the svg output is not shown as an image"
    assert [i.get("width") for i in soup.find_all("img") if i.get("src") == f"data:image/png;base64,{PNG}"
            and i.get("height") == "5"] == [None], "the output image or its metadata"
    attached = [i.get("src") for i in soup.find_all("img") if i.get("alt") == "good attachment"]
    assert attached == [f"data:image/png;base64,{PNG}"], "the attachment that is a valid image"
    check_legit(soup)


def check_legit(soup) -> None:
    """The student's own content, as the clean page shows it."""
    text = soup.get_text()
    for shown in ("Legitimate paragraph: the bound holds.", "Second paragraph", r"$D(P\|Q) < \infty$",
                  r"$f'(x) \ge g''(x) & h$", "a list item", "a quote", r"\log \frac{p_i}{q_i} < \infty, \quad a' & b"):
        assert shown in text, shown
    assert "a < b && c" in [c.get_text() for c in soup.find_all("code")]
    table = soup.find("table")
    assert table and [th.get_text() for th in table.find_all("th")] == ["estimator", "bias"]
    assert [td.get_text() for td in table.find_all("td")] == ["DV", "$< 0.1$"]
    srcs = {i.get("alt"): i.get("src") for i in soup.find_all("img")}
    assert srcs.get("own figure") == "data:image/png;base64," + base64.b64encode(OWN).decode()
    figure = base64.b64encode((ROOT / "images" / FIGURE).read_bytes()).decode()
    assert srcs.get("course figure") == f"data:image/svg+xml;base64,{figure}"
    assert soup.find("h2") and "A heading" in soup.find("h2").get_text()


def canary_path(course: Path) -> Path:
    return course / "autograded" / "bob" / ASSIGNMENT / "secret.png"


@pytest.mark.slow
def test_feedback_of_a_hostile_submission_is_safe(course, feedback):
    """A real ``nbgrader generate_feedback``, configured by the course's nbgrader_config.py."""
    check_page(feedback["mallory"], feedback["carol"], canary_path(course))
    check_legit(BeautifulSoup(feedback["carol"], "html.parser"))
    assert "Your written answer" in feedback["mallory"], "the written answer lost its panel"


def test_formgrader_page_of_a_hostile_submission_is_safe(course, formgrade):
    """The page formgrader shows an instructor, from the exporter formgrader builds."""
    check_page(formgrade["mallory"], formgrade["carol"], canary_path(course))
    check_legit(BeautifulSoup(formgrade["carol"], "html.parser"))
    soup = BeautifulSoup(formgrade["mallory"], "html.parser")
    assert soup.find("input", id="written") and soup.find("textarea", id="written-comment"), "the grading form"


def test_formgrader_writes_no_grade_id_of_a_students_making(course, tmp_path):
    """Formgrader writes a cell's grade_id into its HTML as it is: only safe characters stay."""
    grading = dict(WRITTEN, grade_id="w\"><script>alert('grade_id')</script>")
    nb = clean_notebook()
    nb.cells.append(new_markdown_cell("An answer", metadata={"nbgrader": grading}))
    nbformat.write(nb, tmp_path / f"{NOTEBOOK}.ipynb")
    resources = {"assignment_id": ASSIGNMENT, "notebook_id": NOTEBOOK, "submission_id": "s1", "index": 0, "total": 1,
                 "base_url": "", "student": "x", "last_name": "x", "first_name": "x", "notebook_path": "x"}
    page, _ = formgrader_exporter(course).from_filename(str(tmp_path / f"{NOTEBOOK}.ipynb"), resources=resources)
    soup = BeautifulSoup(page, "html.parser")
    assert not [s for s in soup.find_all("script") if "grade_id" in s.get_text()]
    ids = [i["id"] for i in soup.find_all("input", class_="score")]
    assert len(ids) == 2 and all(re.fullmatch(r"[A-Za-z0-9_.\-]+", i) for i in ids), ids


def test_safe_view_runs_once_after_the_grades(course):
    """Feedback: once, after GetGrades and FeedbackMarks; formgrader: once."""
    from nbgrader.converters import GenerateFeedback
    from traitlets.config.loader import PyFileConfigLoader

    from nde_grader.safe_view import SafeView

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    converter = GenerateFeedback(config=config)
    exporter = converter.exporter_class(parent=converter, config=converter.config)
    for pp in converter.preprocessors:
        exporter.register_preprocessor(pp)
    names = [type(p).__name__ for p in exporter._preprocessors]
    assert names.count("SafeView") == 1, names
    assert names.index("SafeView") > max(names.index("GetGrades"), names.index("FeedbackMarks")), names
    assert all(p.enabled for p in exporter._preprocessors if isinstance(p, SafeView))
    names = [type(p).__name__ for p in formgrader_exporter(course)._preprocessors]
    assert names.count("SafeView") == 1, names


def test_idempotent_and_the_course_notebooks_look_the_same():
    """SafeView twice is SafeView once; each markdown cell of the released notebooks reads
    the same (text, math, tags) as nbconvert renders it unsanitised."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    from nde_grader.safe_view import SafeView

    for path in sorted((ROOT / "release" / ASSIGNMENT).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        original = [markdown2html_mistune(c.source) for c in nb.cells if c.cell_type == "markdown"]
        view = SafeView(images_dir=str(ROOT / "images"))
        resources = {"metadata": {"path": str(path.parent)}}
        once, _ = view.preprocess(nbformat.from_dict(nb), resources)
        twice, _ = view.preprocess(nbformat.from_dict(once), resources)
        assert twice == once, path.name
        shown = [markdown2html_mistune(c.source) for c in once.cells if c.cell_type == "markdown"]
        for before, after in zip(original, shown, strict=True):
            before, after = BeautifulSoup(before, "html.parser"), BeautifulSoup(after, "html.parser")
            assert after.get_text().strip() == before.get_text().strip(), path.name
            assert [t.name for t in after.find_all(True)][1:] == [t.name for t in before.find_all(True)], path.name
            for image in before.find_all("img"):  # the course figures, embedded
                assert after.find("img", alt=image.get("alt"))["src"].startswith("data:image/svg+xml;base64,")


def test_idempotent_on_the_hostile_notebook(course):
    """The hostile notebook's view, made safe once more, does not change."""
    from nde_grader.safe_view import SafeView

    path = course / "autograded" / "mallory" / ASSIGNMENT / f"{NOTEBOOK}.ipynb"
    view = SafeView(images_dir=str(course / "images"))
    resources = {"metadata": {"path": str(path.parent)}}
    once, _ = view.preprocess(nbformat.read(path, as_version=4), resources)
    twice, _ = view.preprocess(nbformat.from_dict(once), resources)
    assert twice == once
    assert "widgets" not in once.metadata and all("attachments" not in c for c in once.cells)

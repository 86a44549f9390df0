"""nde_grader/safe_view.py: SafeView on a notebook of a few hostile cells (the whole feedback and
formgrader pages of a hostile class: tests/test_safe_view.py)."""
from __future__ import annotations

import base64

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from nde_grader.safe_view import SafeView

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()


@pytest.fixture
def view(tmp_path):
    """SafeView for a notebook in ``tmp_path/submission`` with the course's figures in ``tmp_path/images``."""
    (tmp_path / "submission").mkdir()
    (tmp_path / "images").mkdir()
    (tmp_path / "submission" / "sketch.png").write_bytes(base64.b64decode(PNG))
    (tmp_path / "images" / "dv.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (tmp_path / "secret.png").write_bytes(base64.b64decode(PNG))

    def run(*cells, **metadata):
        nb = new_notebook()  # filled after: nbformat would refuse the hostile cells
        nb.cells, nb.metadata = list(cells), {**nb.metadata, **metadata}
        out, _ = SafeView(images_dir=str(tmp_path / "images")).preprocess(
            nb, {"metadata": {"path": str(tmp_path / "submission")}})
        return out

    return run


def test_markdown_is_rendered_without_scripts_or_handlers(view):
    nb = view(new_markdown_cell("# Title\n\n<script>alert(1)</script><img src=x onerror=alert(2)>"
                                "<a href='javascript:alert(3)'>link</a> and $e^{t}$"))
    html = nb.cells[0].source
    assert html.startswith('<div class="nde-safe">') and html.endswith("</div>") and "\n" not in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    # a heading cannot take over an id of the page
    assert 'id="user-content-Title"' in html and 'href="#user-content-Title"' in html
    assert "$e^{t}$" in html  # math kept for MathJax


def test_images_only_from_the_submission_the_course_or_inline(view):
    nb = view(new_markdown_cell("![a](sketch.png) ![b](../../images/dv.svg) ![c](../secret.png) "
                                "![d](/etc/passwd.png) ![e](http://example.org/x.png)"))
    html = nb.cells[0].source
    assert html.count("data:image/png;base64,") == 1 and html.count("data:image/svg+xml;base64,") == 1
    assert html.count("[image not shown") == 3
    assert [src[:15] for src in html.split('src="')[1:]] == ["data:image/png;", "data:image/svg+"]


def test_outputs_keep_what_is_safe(view):
    cell = new_code_cell("x", outputs=[
        new_output("display_data", data={"application/javascript": "alert(1)", "text/plain": "<Figure>"}),
        new_output("display_data", data={"text/html": "<b>bold</b><script>x</script>", "image/png": PNG},
                   metadata={"image/png": {"width": "100 onload=alert(1)", "height": 20}}),
        new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "1"}}),
        new_output("stream", name="stdin", text="what"),
    ])
    cell.execution_count = "7"
    out = view(cell).cells[0]
    assert out.outputs[0].data == {"text/plain": "<Figure>"}
    assert out.outputs[1].data["text/html"].count("<script") == 0 and "<b>bold</b>" in out.outputs[1].data["text/html"]
    assert out.outputs[1].data["image/png"] == PNG and out.outputs[1].metadata == {"image/png": {"height": 20}}
    assert out.outputs[2].data == {"text/plain": "[output not shown: application/vnd.jupyter.widget-view+json]"}
    assert out.outputs[3].name == "stdout" and out.execution_count is None


def test_metadata_keeps_safe_names_only(view):
    cell = new_code_cell("x")
    cell.metadata["tags"] = ["export", "a b<script>", 3]
    cell.metadata["nbgrader"] = {"grade_id": 'x"><script>', "grade": True}
    raw = new_raw_cell("<script>raw</script>")
    nb = view(cell, raw, widgets={"state": {}})
    assert nb.cells[0].metadata.tags == ["export"]
    assert nb.cells[0].metadata.nbgrader["grade_id"] == "x___script_"
    assert nb.cells[1].cell_type == "markdown" and "&lt;script&gt;raw&lt;/script&gt;" in nb.cells[1].source
    assert "widgets" not in nb.metadata


def test_safe_view_is_idempotent(view):
    once = view(new_markdown_cell("**bold** ![a](sketch.png)"), new_code_cell("1", outputs=[
        new_output("execute_result", data={"text/html": "<i>x</i>"}, execution_count=1)]))
    twice = view(*once.cells)
    assert [c.source for c in twice.cells] == [c.source for c in once.cells]
    assert twice.cells[1].outputs == once.cells[1].outputs

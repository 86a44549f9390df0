"""Which students' answers look alike: a similarity report for a person to read.

The answers of this course are public, so copying is the one cheat the grader cannot see.
This report compares, notebook by notebook, each student's answer cells with every other
student's and with the course's own answers, using copydetect (MOSS's winnowing over
Pygments tokens, names replaced by their kind, so renaming variables changes nothing). The
code the students were given (the release's version of each answer cell) is boilerplate
and never counts. Exercises whose whole answer is shorter than ``MIN_TOKENS`` tokens are
left out: every correct answer to them looks alike.

It flags pairs for a person to look at; it never changes a score. ``grade`` writes it after
the feedback, and ``python -m course similarity`` alone:

    similarity/index.html        the ranked table, flagged pairs linked
    similarity/similarity.csv    every pair compared, with both similarities
    similarity/<pair>.html       each flagged pair's code side by side, the shared parts marked

Submissions are read as the grader reads them: regular files only (no links), at most
MAX_NOTEBOOK_BYTES, through nbformat; a notebook that cannot be read is named and skipped.
"""
from __future__ import annotations

import csv
import html
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from nde_grader.cells import grade_id

from . import ASSIGNMENT, ROOT

MIN_TOKENS = 40
"""Answers (the course's, given code left out) shorter than this many Pygments tokens are left out."""
FLAG = 0.75
"""A pair is flagged when the larger of its two similarities (the share of each file's
fingerprints found in the other) reaches this, and they share at least FLAG_TOKENS tokens."""
FLAG_TOKENS = 60
COURSE = "course answers"
"""The name the course's own answers take in the table."""
SOLUTION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)


@dataclass(frozen=True)
class Pair:
    notebook: str
    first: str
    second: str
    first_share: float
    """The share of the first's fingerprints found in the second's answers."""
    second_share: float
    tokens: int
    """Tokens in the shared passages."""
    page: str = ""
    """The HTML page of a flagged pair, relative to the report's folder."""

    @property
    def score(self) -> float:
        return max(self.first_share, self.second_share)

    @property
    def flagged(self) -> bool:
        return self.score >= FLAG and self.tokens >= FLAG_TOKENS


def _tokens(code: str) -> int:
    from pygments.lexers import PythonLexer
    from pygments.token import Comment, Text

    return sum(1 for kind, value in PythonLexer().get_tokens(code)
               if value.strip() and kind not in Text and kind not in Comment)


def answer_cells(stem: str, course: Path = ROOT) -> dict[str, tuple[str, str]]:
    """The answer cells of a notebook worth comparing: grade_id -> (the course's answer, the code
    given to students in the release), for the autograded answer cells whose answer (the
    solution block alone) has at least MIN_TOKENS tokens."""
    from nbgrader.utils import is_grade, is_solution  # importing nbgrader takes seconds: only when needed

    source = nbformat.read(course / "source" / ASSIGNMENT / f"{stem}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{stem}.ipynb", as_version=4)
    given = {grade_id(c): c.source for c in release.cells
             if c.cell_type == "code" and is_solution(c)}
    out = {}
    for cell in source.cells:
        if cell.cell_type != "code" or not is_solution(cell) or is_grade(cell):
            continue
        parts = SOLUTION.split(cell.source)
        block = "".join(parts[i + 1] for i in range(1, len(parts) - 1, 2) if parts[i] == "BEGIN")
        if _tokens(block) >= MIN_TOKENS:
            out[grade_id(cell)] = (SOLUTION.sub("", cell.source), given.get(grade_id(cell), ""))
    return out


def _regular(path: Path, top: Path) -> bool:
    """``path`` and every folder between ``top`` and it are what they say (no link anywhere)."""
    try:
        rel = path.relative_to(top)
    except ValueError:
        return False
    here = top
    for part in rel.parts:
        here = here / part
        try:
            mode = os.lstat(here).st_mode
        except OSError:
            return False
        if stat.S_ISLNK(mode):
            return False
    return stat.S_ISREG(os.lstat(path).st_mode)


def submitted_answers(path: Path, top: Path, cells: dict) -> tuple[str | None, str]:
    """A student's answer cells of one notebook, joined, or None and why they cannot be read."""
    from nde_grader.kernel.sandbox import MAX_NOTEBOOK_BYTES

    if not _regular(path, top):
        return None, f"{path.name}: not a regular file (a link?): left out"
    if path.stat().st_size > MAX_NOTEBOOK_BYTES:
        return None, f"{path.name}: over {MAX_NOTEBOOK_BYTES} bytes: left out"
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as handle:
        text = handle.read(MAX_NOTEBOOK_BYTES + 1)
    try:
        nb = nbformat.reads(text.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 (any reason the file is not a notebook is the student's)
        return None, f"{path.name}: not a notebook ({type(exc).__name__}): left out"
    found = []
    for cell in nb.get("cells", []) if isinstance(nb.get("cells"), list) else []:
        if not isinstance(cell, dict) or not isinstance(cell.get("metadata"), dict):
            continue
        meta = cell["metadata"].get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if isinstance(grade_id, str) and grade_id in cells and cell.get("cell_type") == "code":
            found.append(str(cell.get("source", "")))
    return "\n\n".join(found), ""


def compare(submitted: Path = ROOT / "submitted", course: Path = ROOT) -> tuple[list[Pair], list[str], dict]:
    """Every pair of students (and each student with the course's answers), notebook by
    notebook: the pairs, the problems met (unreadable notebooks), and the highlighted code of
    each pair (for the pages)."""
    import matplotlib

    matplotlib.use("Agg")  # copydetect imports pyplot
    from copydetect import CopyDetector

    students = sorted(p.name for p in submitted.iterdir() if p.is_dir() and not p.is_symlink()) if submitted.is_dir() else []
    stems = sorted(p.stem for p in (course / "source" / ASSIGNMENT).glob("*.ipynb"))
    pairs, problems, code = [], [], {}
    with tempfile.TemporaryDirectory(prefix="nde-similarity-") as tmp:
        for stem in stems:
            cells = answer_cells(stem, course)
            if not cells:
                continue
            files, boiler = Path(tmp) / stem / "answers", Path(tmp) / stem / "given"
            files.mkdir(parents=True)
            boiler.mkdir(parents=True)
            (boiler / "given.py").write_text("\n\n".join(given for _, given in cells.values()))
            (files / "0.py").write_text("\n\n".join(answer for answer, _ in cells.values()))
            names = {"0.py": COURSE}
            for i, student in enumerate(students, start=1):
                path = submitted / student / ASSIGNMENT / f"{stem}.ipynb"
                if not path.exists() and not path.is_symlink():
                    continue
                try:
                    text, why = submitted_answers(path, submitted, cells)
                except Exception as exc:  # noqa: BLE001 (one student's file never stops the report)
                    text, why = None, f"{path.name}: could not be read ({type(exc).__name__}): left out"
                if text is None:
                    problems.append(f"{student}: {why}")
                    continue
                (files / f"{i}.py").write_text(text)
                names[f"{i}.py"] = student
            if len(names) < 2:
                continue
            detector = CopyDetector(test_dirs=[str(files)], ref_dirs=[str(files)], boilerplate_dirs=[str(boiler)],
                                    extensions=["py"], display_t=0.0, autoopen=False, silent=True,
                                    out_file=os.devnull)
            detector.run()
            if len(detector.similarity_matrix) == 0:
                continue
            for (first_sim, second_sim, a, b, hl_a, hl_b, tokens) in detector.get_copied_code_list():
                first, second = names[Path(a).name], names[Path(b).name]
                if first == second:
                    continue
                if first == COURSE or (second != COURSE and first > second):  # one order: the course last
                    first, second, first_sim, second_sim, hl_a, hl_b = second, first, second_sim, first_sim, hl_b, hl_a
                pair = Pair(stem, first, second, float(first_sim), float(second_sim), int(tokens))
                if pair.flagged:
                    page = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{stem}__{first}__{second}") + ".html"
                    pair = Pair(pair.notebook, first, second, pair.first_share, pair.second_share, pair.tokens, page)
                    code[page] = (hl_a, hl_b)
                pairs.append(pair)
    pairs = list({(p.notebook, p.first, p.second): p for p in pairs}.values())
    pairs.sort(key=lambda p: (-p.score, -p.tokens, p.notebook, p.first, p.second))
    return pairs, problems, code


PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }}
tr.flagged {{ background: #fff3e0; }}
.code {{ display: flex; gap: 1em; }} .code > div {{ flex: 1; min-width: 0; }}
pre {{ background: #f7f7f7; padding: 0.6em; white-space: pre-wrap; word-break: break-word; }}
.highlight-red {{ background: #ffcdd2; }} .highlight-green {{ background: #c8e6c9; }}
</style></head><body>
{body}
</body></html>
"""


def write_report(pairs: list[Pair], problems: list[str], code: dict, out: Path) -> Path:
    """index.html, similarity.csv and a page per flagged pair, in ``out`` (replaced)."""
    import shutil

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with open(out / "similarity.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["notebook", "first", "second", "share_of_first", "share_of_second", "shared_tokens", "flagged"])
        for p in pairs:
            writer.writerow([p.notebook, p.first, p.second, f"{p.first_share:.3f}", f"{p.second_share:.3f}", p.tokens,
                             int(p.flagged)])
    e = html.escape
    rows = []
    for p in pairs:
        name = f'<a href="{e(p.page)}">{e(p.first)} and {e(p.second)}</a>' if p.page else f"{e(p.first)} and {e(p.second)}"
        rows.append(f'<tr class="{"flagged" if p.flagged else ""}"><td>{e(p.notebook)}</td><td>{name}</td>'
                    f"<td>{p.first_share:.0%}</td><td>{p.second_share:.0%}</td><td>{p.tokens}</td>"
                    f"<td>{'flagged' if p.flagged else ''}</td></tr>")
    flagged = sum(p.flagged for p in pairs)
    body = (f"<h1>Similar answers: {flagged} pair{'s' if flagged != 1 else ''} flagged</h1>"
            f"<p>Answer cells compared notebook by notebook (the given code left out; exercises whose answer is "
            f"shorter than {MIN_TOKENS} tokens left out). A pair is flagged when one of them shares at least "
            f"{FLAG:.0%} of its fingerprints with the other, over at least {FLAG_TOKENS} tokens. A flag asks a person "
            f"to look; it changes no score. Students who copy the course's public answers show up against "
            f"&ldquo;{e(COURSE)}&rdquo;.</p>"
            + (f"<p>Left out: {'; '.join(e(x) for x in problems)}</p>" if problems else "")
            + "<table><tr><th>notebook</th><th>pair</th><th>share of the first</th><th>share of the second</th>"
            "<th>shared tokens</th><th></th></tr>" + "".join(rows) + "</table>")
    (out / "index.html").write_text(PAGE.format(title="Similar answers", body=body))
    by_page = {p.page: p for p in pairs if p.page}
    for page, (first_code, second_code) in code.items():
        p = by_page[page]
        body = (f"<p><a href='index.html'>All pairs</a></p><h1>{e(p.notebook)}: {e(p.first)} and {e(p.second)}</h1>"
                f"<p>{p.first_share:.0%} of the first's fingerprints are in the second's answers, {p.second_share:.0%} "
                f"the other way; {p.tokens} tokens in the shared passages (marked).</p>"
                f"<div class='code'><div><h2>{e(p.first)}</h2><pre>{first_code}</pre></div>"
                f"<div><h2>{e(p.second)}</h2><pre>{second_code}</pre></div></div>")
        (out / page).write_text(PAGE.format(title=f"{p.first} and {p.second}", body=body))
    return out / "index.html"


def summary(pairs: list[Pair], problems: list[str], index: Path) -> str:
    flagged = [p for p in pairs if p.flagged]
    lines = [f"Similar answers: {len(flagged)} pair{'s' if len(flagged) != 1 else ''} flagged for a look "
             f"(scores unchanged): {index}"]
    lines += [f"    {p.notebook}: {p.first} and {p.second}, {p.score:.0%} shared ({p.tokens} tokens)" for p in flagged[:10]]
    if len(flagged) > 10:
        lines.append(f"    ... and {len(flagged) - 10} more in the report")
    lines += [f"    left out: {x}" for x in problems]
    return "\n".join(lines)


def main(submitted: Path = ROOT / "submitted", course: Path = ROOT, out: Path | None = None) -> int:
    pairs, problems, code = compare(submitted, course)
    index = write_report(pairs, problems, code, out or course / "similarity")
    print(summary(pairs, problems, index))
    return 0

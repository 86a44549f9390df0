"""The course as a website (`python -m course site`): the students' version, readable offline.

- the site is built once into a temporary folder from the release notebooks, whatever
  notebooks release/ holds: a page and a downloadable copy per notebook, and a home page
  that lists every notebook with a line on it;
- outputs come only from teaching cells ("# Run this cell") of the release notebooks run
  with no answer anywhere, never from an answer or test cell, and a figure is among them;
- no answer reaches it: every file of the site (pages, search index, inventory,
  notebooks) is scanned for every line of every solution region, model answer, hidden-test
  block and check module (tests/test_bundle.py's list), in the pages' text as a reader
  sees it (tags stripped, entities decoded) and, for prose, with the markup ignored;
  outputs and figures are scanned as the rest; the scan finds lines planted in a copy of
  the site, in a page's text, in a cell's output and in a figure;
- every page, opened from disk in headless Chromium with the network off: every image
  loaded, every formula typeset by the MathJax shipped with the site (no raw `$`, no
  TeX error), every internal link resolves to an existing page and element, links to
  an equation land where its tag is shown, and each notebook's page links to the
  notebook in JupyterLab and to the notebook file; while MathJax typesets, a note says so
  and is gone once it is done; the checks find a broken image, a raw formula and a
  dangling link planted in a page. A screenshot of each page, as it opens and once
  typeset, and of its first output, goes to ``artifacts/site/``;
- a link to a cell or heading that does not exist stops the build, naming it.

Needs Debian's Chromium (``scripts/install_system.sh``) for the browser part: without
it that part is skipped on a workstation and fails in CI (``CI`` set).
"""
from __future__ import annotations

import html
import re
import shutil
import time
import zlib
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from nbgrader.utils import is_solution

from bs4 import BeautifulSoup

from course import ASSIGNMENT, ROOT, CourseError
from course.site import DEFAULT_LAB_URL, TEACHING, build_site, pages, stage_notebooks

from .browser_helpers import browser  # noqa: F401 (a fixture)
from .test_bundle import secret_lines

RELEASE = ROOT / "release" / ASSIGNMENT
# Binary files the theme and MathJax ship under _static/: fonts, icons, the theme's
# translations, the sound of MathJax's accessibility menu.
BINARY = {".woff", ".woff2", ".eot", ".otf", ".ttf", ".png", ".gif", ".ico", ".jpg", ".mo", ".mp3", ".ogg"}
FORBIDDEN = {".pyc", ".pyo", ".whl", ".egg", ".zip", ".tar", ".gz", ".db", ".sqlite"}
SCREENSHOTS = ROOT / "artifacts" / "site"

# every test builds the site with Sphinx, most of them running the release notebooks too
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("website") / "site"
    started = time.monotonic()
    build_site(out)
    print(f"site built in {time.monotonic() - started:.1f} s")
    return out


def test_every_release_notebook_has_its_page_and_its_file(site):
    names = [p.stem for p in sorted(RELEASE.glob("*.ipynb"))]
    assert len(names) >= 5, names
    found = pages(site)
    for name in names:
        assert f"release/{ASSIGNMENT}/{name}.html" in found
        copy = site / "release" / ASSIGNMENT / f"{name}.ipynb"
        assert nbformat.reads(copy.read_text(), as_version=4).cells == nbformat.read(RELEASE / f"{name}.ipynb", 4).cells
    assert "index.html" in found
    index = (site / "index.html").read_text()
    assert all(f'href="release/{ASSIGNMENT}/{name}.html"' in index for name in names), "the contents miss a notebook"
    # the students' version: the stubs they fill in are there
    text = "".join((site / "release" / ASSIGNMENT / f"{n}.html").read_text() for n in names)
    assert "raise</span> <span class=\"ne\">NotImplementedError</span>" in text and "YOUR ANSWER HERE" in text


def test_the_home_page_says_what_the_course_is_and_lists_every_notebook(site):
    article = BeautifulSoup((site / "index.html").read_text(), "html.parser").select_one("article")
    assert "Kullback–Leibler divergence" in article.get_text()
    lines = {item.select_one("a")["href"]: item.get_text(" ", strip=True) for item in article.select("ol > li")}
    for name in sorted(p.stem for p in RELEASE.glob("*.ipynb")):
        line = lines.get(f"release/{ASSIGNMENT}/{name}.html")
        assert line, f"the home page's list misses {name}"
        assert len(line.split(": ", 1)[-1].split()) >= 5, f"{name}: no line on what it is about: {line!r}"


def test_outputs_come_from_teaching_cells_only(site):
    """Every output on a page sits below a teaching cell; none below an answer or a test."""
    shown, figures = 0, 0
    for path in sorted((site / "release" / ASSIGNMENT).glob("*.html")):
        soup = BeautifulSoup(path.read_text(), "html.parser")
        for output in soup.select("div.cell_output"):
            code = output.find_parent("div", class_="cell").select_one("div.cell_input").get_text()
            assert code.lstrip().startswith(TEACHING), f"{path.name}: an output below {code[:200]!r}"
            assert "NotImplementedError" not in output.get_text(), f"{path.name}: {output.get_text()[:200]!r}"
            shown += 1
            figures += len(output.select("img"))
    assert shown >= 5 and figures >= 1, (shown, figures)


# ---------------------------------------------------------------- no answers


def _reader_text(markup: str) -> str:
    """What a reader sees of an HTML file (Pygments splits a code line into spans, and
    escapes it): tags stripped, entities decoded, lines kept."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def model_answers() -> dict[str, str]:
    """line of a model answer (a written answer's markdown) -> where it comes from."""
    out = {}
    for path in sorted((ROOT / "source" / ASSIGNMENT).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown" and is_solution(cell):
                out.update({line.strip(): f"{path.name}, cell {cell.id}" for line in cell.source.splitlines()
                            if len(_squash(line)) >= 30})
    return out


def _squash(text: str) -> str:
    """Letters and digits only: prose compared whatever the markup (math, emphasis) became."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _texts(path: Path) -> list[str]:
    """The texts of a site file to scan (an HTML file: its markup and what a reader sees)."""
    data = path.read_bytes()
    if path.name == "objects.inv":  # Sphinx's inventory: four lines of header, then zlib
        parts = data.split(b"\n", 4)
        return [b"\n".join(parts[:4]).decode(), zlib.decompress(parts[4]).decode()]
    text = data.decode("utf-8")
    if path.suffix == ".ipynb":
        return ["\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)]
    if path.suffix == ".html":
        return [text, _reader_text(text)]
    return [text]


def scan(site: Path, secrets: dict[str, str], prose: dict[str, str]) -> list[str]:
    """Every line of a site file that is one of the instructor's lines (``secrets``),
    every line of a model answer (``prose``) found in a page whatever its markup became,
    and every file that cannot be scanned."""
    squashed_prose = {_squash(line): line for line in prose}
    leaks = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        rel = path.relative_to(site).as_posix()
        if path.suffix in FORBIDDEN:
            leaks.append(f"{rel}: no bytecode, package or archive belongs on the site")
            continue
        try:
            texts = _texts(path)
        except UnicodeDecodeError:
            if path.suffix not in BINARY or not rel.startswith("_static/"):
                leaks.append(f"{rel}: a binary file that cannot be scanned")
            continue
        if path.suffix == ".ipynb" and any(c.get("outputs") for c in nbformat.read(path, as_version=4).cells):
            leaks.append(f"{rel} holds outputs")
        for text in texts:
            leaks += [f"{rel}: {line.strip()!r} (from {secrets[line.strip()]})"
                      for line in text.splitlines() if line.strip() in secrets]
        if path.suffix in (".html", ".js", ".ipynb"):
            squashed = _squash(texts[-1])
            leaks += [f"{rel}: {line!r} (from {prose[line]})" for key, line in squashed_prose.items() if key in squashed]
    return sorted(set(leaks))


def test_no_answer_hidden_test_or_check_reaches_the_site(site):
    secrets = secret_lines()
    assert len(secrets) > 500, "the scan would look for too little"
    assert 'check("trainer.trainer_accuracy")' in secrets  # a hidden-test line
    prose = model_answers()
    assert len(prose) >= 10, "the scan would look for too few lines of model answers"
    leaks = scan(site, secrets, prose)
    assert not leaks, "the site holds the instructor's lines:\n" + "\n".join(leaks[:20])


def test_the_scan_finds_what_leaks(site, tmp_path):
    """An answer line written into a page as Sphinx highlights code, a model answer written
    as HTML prose, and a hidden-test line in the search index are each found."""
    secrets, prose = secret_lines(), model_answers()
    copy = tmp_path / "leaky"
    shutil.copytree(site, copy, ignore=shutil.ignore_patterns("mathjax"))
    answer = next(s for s, where in secrets.items() if "05_trainer" in where and "randperm" in s)
    model = max(prose, key=lambda line: line.count(" "))  # a line of prose
    hidden = 'check("trainer.trainer_accuracy")'
    page = copy / "release" / ASSIGNMENT / "02_gradient_descent.html"
    code = "".join(f'<span class="n">{html.escape(ch)}</span>' if ch.strip() else ch for ch in answer)
    words = model.split(" ")
    paragraph = " ".join(f"<em>{w}</em>" if i % 3 == 0 else w for i, w in enumerate(words))
    page.write_text(page.read_text().replace("</article>", f"<pre>    {code}\n</pre><p>{paragraph}</p></article>", 1))
    with open(copy / "searchindex.js", "a") as f:
        f.write(f"\n{hidden}\n")
    # in a cell's output, and in a figure drawn by a cell
    printed = next(s for s, where in secrets.items() if "04_dv_bound" in where and "logsumexp" in s)
    check = next(s for s, where in secrets.items() if where == "nde_grader/checks/dv_bound.py" and "logsumexp" in s.lower())
    figure = next((copy / "_images").glob("*.svg"))
    output = copy / "release" / ASSIGNMENT / "03_network.html"
    output.write_text(output.read_text().replace('<div class="cell_output docutils container">',
                                                 '<div class="cell_output docutils container">'
                                                 f'<div class="output stream highlight-myst-ansi notranslate">'
                                                 f'<pre>{html.escape(printed)}\n</pre></div>', 1))
    figure.write_text(figure.read_text().replace("</svg>", f"<text>\n{check}\n</text></svg>"))
    leaks = "\n".join(scan(copy, secrets, prose))
    assert all(repr(line) in leaks for line in (answer, model, hidden, printed, check)), leaks


# ---------------------------------------------------------------- a missing link target


def test_a_link_to_a_missing_cell_or_heading_stops_the_build(tmp_path):
    release = tmp_path / "release" / ASSIGNMENT
    release.mkdir(parents=True)
    shutil.copy(RELEASE / "01_problem.ipynb", release)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "# Later\n\nSee [(DV)](01_problem.ipynb#cell-id=dv-formula), [here](01_problem.ipynb#The-DV-formula) "
        "and [the code](01_problem.ipynb#cell-id=ground_truth).")])
    nb.cells[0].id = "later-0"
    nbformat.write(nb, release / "02_later.ipynb")
    staged = stage_notebooks({f"release/{ASSIGNMENT}/{p.name}": p for p in sorted(release.glob("*.ipynb"))})
    later, first = staged[f"release/{ASSIGNMENT}/02_later.ipynb"], staged[f"release/{ASSIGNMENT}/01_problem.ipynb"]
    assert "(01_problem.ipynb#cell-01_problem-dv-formula)" in later.cells[0].source
    assert next(c for c in first.cells if c.id == "dv-formula").source.startswith("(cell-01_problem-dv-formula)=\n")
    code = next(i for i, c in enumerate(first.cells) if c.id == "ground_truth")  # a label before a code cell
    assert first.cells[code - 1].source == "(cell-01_problem-ground_truth)=\n"
    build_site(tmp_path / "good", release=release.parent, run=False)  # every kind of link resolves

    nb.cells[0].source = "# Later\n\nSee [(DV)](01_problem.ipynb#cell-id=nowhere)."
    nbformat.write(nb, release / "02_later.ipynb")
    with pytest.raises(CourseError, match="02_later.ipynb links to 01_problem.ipynb#cell-id=nowhere"):
        build_site(tmp_path / "bad", release=release.parent, run=False)
    nb.cells[0].source = "# Later\n\nSee [here](01_problem.ipynb#The-DV-Formula)."
    nbformat.write(nb, release / "02_later.ipynb")
    with pytest.raises(CourseError, match="The-DV-Formula"):
        build_site(tmp_path / "bad", release=release.parent, run=False)


# ---------------------------------------------------------------- in the browser, offline


# Sphinx writes a formula as <span|div class="math notranslate nohighlight">\(...\)</span>;
# MathJax 2 draws it inside, in a .MathJax (inline) or .MathJax_Display element.
FORMULA = ".math.notranslate"
MATHJAX_DONE = ("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                "&& MathJax.Hub.queue.running === 0")

PAGE_JS = """() => {
  const formulas = [...document.querySelectorAll('%s')];
  const hasMath = formulas.length > 0;
  const rendered = '.MathJax, .MathJax_Display, .MathJax_SVG, .MathJax_CHTML, mjx-container';
  const untypeset = formulas.filter(m => !m.querySelector(rendered)
      || /\\\\\\(|\\\\\\[/.test(m.innerText)).map(m => m.textContent.slice(0, 80));
  const errors = [...document.querySelectorAll('.noError, .merror, .MathJax_Error, mjx-merror')]
      .map(e => e.textContent.slice(0, 80));
  const article = document.querySelector('article') || document.body;
  const copy = article.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, .MathJax, .MathJax_Display, .MathJax_Preview').forEach(c => c.remove());
  const raw = copy.innerText.split('\\n').filter(t => t.includes('$')).map(t => t.slice(0, 120));
  const images = [...document.querySelectorAll('img')].map(i => ({src: i.getAttribute('src'),
      ok: i.complete && i.naturalWidth > 0}));
  const links = [...document.querySelectorAll('a[href]')].map(a => ({href: a.href, raw: a.getAttribute('href'),
      text: a.innerText.trim().slice(0, 60), cls: a.className}));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id)
      .concat([...document.querySelectorAll('a[name]')].map(a => a.name));
  const typeset = formulas.length - untypeset.length;
  return {hasMath, untypeset, errors, raw, images, links, ids, typeset};
}""" % FORMULA

# Requests that fail on every MathJax 2 page served from jupyter-server-mathjax: its
# measuring font (about:blank), and the TeX fonts (left out of that package) which the
# hidden MathML for screen readers asks for; the formulas are drawn with STIX-Web.
OPTIONAL = re.compile(r"^about:blank|/_static/mathjax/fonts/HTML-CSS/TeX/")
# The text of a link's target: an empty anchor (<span id>, a heading's other ids) stands
# for the element it opens.
TARGETS_JS = """ids => ids.map(id => {
  const e = document.getElementById(id);
  return !e ? '' : (e.textContent.trim() ? e : e.parentElement).innerText; })"""
CITATION = re.compile(r"^\(([\w-]+)\)$")  # a link written [(DV)](...): it cites an equation's tag


# The note course.js shows while MathJax typesets: its text, or '' once it is gone.
TYPESETTING_JS = """() => (document.documentElement.classList.contains('course-typesetting') ? 'class: ' : '')
    + (document.getElementById('course-typesetting')?.innerText || '')"""


def visit(context, site: Path, paths: list[Path], shots: Path | None = None) -> tuple[list[str], dict]:
    """Open each page from disk; return the problems found and what each page holds.
    ``shots``: a folder for a screenshot of each page as it opens and once typeset."""
    from playwright.sync_api import Error as PlaywrightError

    problems, seen = [], {}
    page = context.new_page()
    page.set_default_timeout(30_000)
    failed, errors = [], []
    page.on("requestfailed", lambda r: failed.append(f"{r.url[:120]} ({r.failure})"))
    page.on("pageerror", lambda e: errors.append(str(e)[:200]))
    try:
        for path in paths:
            where = path.relative_to(site).as_posix()
            failed.clear(), errors.clear()
            page.goto(path.as_uri(), wait_until="domcontentloaded")
            shot = shots / where.replace("/", "_").removesuffix(".html") if shots else None
            has_math = page.evaluate(f"() => document.querySelectorAll('{FORMULA}').length > 0")
            if has_math:  # MathJax starts once the page has loaded: until it is done, the note says so
                note = page.evaluate(TYPESETTING_JS)
                if "Typesetting the formulas" not in note:
                    problems.append(f"{where}: no note while the formulas are typeset ({note!r})")
                if shot:
                    page.screenshot(path=f"{shot}-opening.png")
            page.wait_for_load_state("load")
            if has_math:
                try:
                    page.wait_for_function(MATHJAX_DONE, timeout=30_000)
                except PlaywrightError as exc:
                    problems.append(f"{where}: MathJax did not load or finish: {str(exc)[:200]}")
            note = page.evaluate(TYPESETTING_JS)
            if note:
                problems.append(f"{where}: the typesetting note is still there: {note!r}")
            if shot:
                page.screenshot(path=f"{shot}.png")
                output = page.locator("div.cell_output").first  # the first output, with its cell
                if output.count():
                    output.locator("xpath=..").screenshot(path=f"{shot}-output.png")
            found = page.evaluate(PAGE_JS)
            seen[path] = found
            if found["hasMath"] and not found["typeset"]:
                problems.append(f"{where}: no formula typeset (MathJax did not run)")
            problems += [f"{where}: formula not typeset: {t!r}" for t in found["untypeset"][:3]]
            problems += [f"{where}: TeX error: {t!r}" for t in found["errors"][:3]]
            problems += [f"{where}: raw $ left: {t!r}" for t in found["raw"][:3]]
            problems += [f"{where}: image {i['src']!r} not loaded" for i in found["images"] if not i["ok"]]
            problems += [f"{where}: request failed: {f}" for f in failed if not OPTIONAL.search(f)]
            problems += [f"{where}: script error: {e}" for e in errors]
        # internal links: the page exists and, for an anchor, holds the element; a link that
        # cites an equation, (DV), lands where the equation's tag is shown
        citations: dict[Path, list[tuple[str, str, str]]] = {}  # page -> (fragment, tag, where)
        for path, found in seen.items():
            where = path.relative_to(site).as_posix()
            for link in found["links"]:
                url = urlsplit(link["href"])
                if url.scheme != "file":
                    continue
                target = Path(unquote(url.path))
                if not target.exists():
                    problems.append(f"{where}: link {link['raw']!r} ({link['text']!r}): no such file")
                    continue
                if not url.fragment or target.suffix != ".html":
                    continue
                fragment = unquote(url.fragment)
                if target not in seen:
                    problems.append(f"{where}: link {link['raw']!r} to a page the test did not open")
                elif fragment not in seen[target]["ids"]:
                    problems.append(f"{where}: link {link['raw']!r} ({link['text']!r}): no element #{fragment}")
                elif CITATION.match(link["text"]):
                    citations.setdefault(target, []).append((fragment, link["text"], f"{where}: link {link['raw']!r}"))
        for target, cited in citations.items():  # each cited page once more, typeset
            page.goto(target.as_uri(), wait_until="load")
            page.wait_for_function(MATHJAX_DONE, timeout=30_000)
            shown = page.evaluate(TARGETS_JS, [fragment for fragment, _, _ in cited])
            problems += [f"{where} cites {tag}, but #{fragment} does not show that tag"
                         for (fragment, tag, where), text in zip(cited, shown) if tag not in re.sub(r"\s+", "", text)]
    finally:
        page.close()
    return problems, seen


@pytest.fixture(scope="module")
def offline(browser):
    context = browser.new_context(offline=True)
    try:
        yield context
    finally:
        context.close()


@pytest.mark.browser
def test_every_page_reads_offline(site, offline):
    """Every page of the site from disk, network off: images, formulas, links, and each
    notebook's links to JupyterLab and to its file."""
    paths = [site / p for p in pages(site)]
    started = time.monotonic()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    problems, seen = visit(offline, site, paths, SCREENSHOTS)
    print(f"{len(paths)} pages checked in {time.monotonic() - started:.1f} s; screenshots in {SCREENSHOTS}")
    assert not problems, "\n".join(problems)

    notebooks = sorted(RELEASE.glob("*.ipynb"))
    for nb in notebooks:
        found = seen[site / "release" / ASSIGNMENT / f"{nb.stem}.html"]
        hrefs = {link["href"] for link in found["links"]}
        assert f"{DEFAULT_LAB_URL}release/{ASSIGNMENT}/{nb.name}" in hrefs, f"{nb.stem}: no link to JupyterLab"
        assert (site / "release" / ASSIGNMENT / nb.name).as_uri() in hrefs, f"{nb.stem}: no link to the notebook"
    typeset = sum(found["typeset"] for found in seen.values())
    images = sum(len(found["images"]) for found in seen.values())
    figures = {m for nb in notebooks for m in re.findall(r"\.\./\.\./images/([\w-]+\.svg)", nb.read_text())}
    assert typeset > 100 and images >= len(figures) > 0, (typeset, images, figures)
    cited = [link for found in seen.values() for link in found["links"] if CITATION.match(link["text"])]
    assert len({link["raw"].split("#")[0] for link in cited}) >= 1 and len(cited) >= 3, cited


@pytest.mark.browser
def test_the_checks_find_a_broken_page(site, offline, tmp_path):
    """A missing figure, a formula left raw, a formula that is not TeX and a link to a
    missing anchor, planted in a copy of a page, are each reported."""
    copy = tmp_path / "broken"
    shutil.copytree(site, copy)
    page = copy / "release" / ASSIGNMENT / "02_gradient_descent.html"
    page.write_text(page.read_text().replace("</article>", '<p><img src="missing.svg"> costs $x^2$, see '
                                             '<a href="01_problem.html#nowhere">(DV)</a> and '
                                             '<span class="math notranslate nohighlight">\\(\\frac{1}{\\)</span>'
                                             '</p></article>', 1))
    problems, _ = visit(offline, copy, [page, copy / "release" / ASSIGNMENT / "01_problem.html"])
    text = "\n".join(problems)
    for expected in ("'missing.svg' not loaded", "raw $ left", "no element #nowhere", "TeX error"):
        assert expected in text, text

"""Helpers of tests/test_browser.py: a student's JupyterLab, driven by headless Chromium.

The server is started the way docs/students.md tells students (``jupyter lab`` from the
course folder, with the course's Python), on a copy of the course folder so that
running the notebooks changes nothing in the repository.  The browser is Debian's
Chromium (``scripts/install_system.sh``), driven by Python Playwright.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from nbgrader.utils import is_grade, is_solution

from course import ASSIGNMENT, ROOT

CHROMIUM = Path(os.environ.get("NDE_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

# Where the copied course puts each set of notebooks.  Both sit two folders below the
# root, like release/, so that the figures' links ../../images/<name>.svg resolve.
TREES = {"release": Path("release") / ASSIGNMENT, "solutions": Path("solutions") / ASSIGNMENT}
SOURCES = {"release": ROOT / "release" / ASSIGNMENT,
           "solutions": ROOT / "submitted" / "solutions" / ASSIGNMENT}

# JupyterLab settings of the test's own (temporary) settings folder: no news or update
# pop-ups over the notebook, and every cell kept in the page so that the DOM holds
# every output (the default lets the browser skip drawing cells out of view).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}


def notebooks(kind: str) -> list[Path]:
    """The notebooks of the release or of the filled solutions, as they are now."""
    return sorted(SOURCES[kind].glob("*.ipynb"))


def progress_tree(name: str) -> Path:
    """Where release notebook ``name`` is opened: a folder of its own, two levels down, that
    also holds the notebooks before it with the course's answers, as a student has them
    who reached this notebook (later notebooks read earlier answers with from_notebook)."""
    return Path(f"release-{name[:2]}") / ASSIGNMENT


# A student who reached a notebook with an exercise of an earlier one unanswered: the
# course's answers of 07 beside an unanswered 04 (07 uses its DV in test cells and in
# teaching cells), and the exercise that the one-line messages must name.
EARLIER_MISSING = ("07_mutual_information.ipynb", "04_dv_bound.ipynb", "Exercise 2 of 04_dv_bound.ipynb")
EARLIER_MISSING_TREE = Path("missing-earlier") / ASSIGNMENT
STOPS_LINE = "This cell stops here"  # what nde_student.needs prints for an earlier answer


def with_earlier_missing(folder: Path) -> Path:
    """Fill ``folder`` as EARLIER_MISSING says (the notebooks before the one opened with the
    course's answers, the unanswered one as released); the opened notebook's path."""
    name, unanswered, _ = EARLIER_MISSING
    folder.mkdir(parents=True, exist_ok=True)
    for path in notebooks("solutions"):
        if path.name <= name:
            shutil.copy(SOURCES["release"] / path.name if path.name == unanswered else path, folder)
    return folder / name


def earlier_missing_problems(cells, seen: list[list[dict]]) -> list[str]:
    """What is wrong with the notebook of EARLIER_MISSING after running each cell.

    ``seen[i]`` holds cell i's outputs as ``{"error": the exception's name or None, "text": ...}``.
    A cell that needs the missing answer shows one line naming its exercise, an error only
    in a test cell; no other cell fails; every other test cell shows its ✓ line.
    """
    from course.build import passed_text

    missing, problems, failed, stopped = EARLIER_MISSING[2], [], 0, 0
    for i, (cell, outputs) in enumerate(zip(cells, seen)):
        meta = cell.metadata.get("nbgrader", {})
        test = cell.cell_type == "code" and is_grade(cell) and not is_solution(cell)
        where = f"cell {i} ({meta.get('grade_id', cell.get('id'))})"
        lines = [line for o in outputs for line in o["text"].splitlines() if line.strip()]
        errors = [o["error"] for o in outputs if o["error"]]
        if errors or any(STOPS_LINE in line for line in lines):
            if errors and not test:
                problems.append(f"{where} fails with {errors}: only a test cell may, the others stop quietly")
            if len(lines) != 1 or missing not in lines[0]:
                problems.append(f"{where} should show one line naming {missing}, not {lines[:4]}")
            failed, stopped = failed + bool(errors), stopped + (not errors)
        elif test and passed_text(cell.source) and passed_text(cell.source) not in lines:
            problems.append(f"{where} passed without its ✓ line: {lines[:4]}")
    if not (failed and stopped):
        problems.append(f"{failed} test cells failed and {stopped} cells stopped: the notebook no longer needs {missing}?")
    return problems


def copy_course(dest: Path) -> Path:
    """What a student's course folder holds, copied to dest: notebooks, figures, config."""
    for kind, tree in TREES.items():
        if SOURCES[kind].is_dir():
            shutil.copytree(SOURCES[kind], dest / tree)
    for path in notebooks("release"):
        folder = dest / progress_tree(path.name)
        folder.mkdir(parents=True)
        shutil.copy(path, folder)
        for earlier in notebooks("solutions"):
            if earlier.name < path.name:
                shutil.copy(earlier, folder)
    with_earlier_missing(dest / EARLIER_MISSING_TREE)
    shutil.copytree(ROOT / "images", dest / "images")
    shutil.copy(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A JupyterLab server on a free port with a random token; stop() always ends it."""

    def __init__(self, root: Path, state: Path, log: Path):
        self.root, self.log = root, log
        self.port, self.token = _free_port(), secrets.token_hex(16)
        settings = state / "settings"
        for name, values in LAB_SETTINGS.items():
            (settings / name).parent.mkdir(parents=True, exist_ok=True)
            (settings / name).write_text(json.dumps(values))
        # As for a person: no NDE_HEADLESS, matplotlib's default (inline) backend.
        env = {k: v for k, v in os.environ.items() if k not in ("NDE_HEADLESS", "MPLBACKEND")}
        env.update(
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(state / "workspaces"),
            JUPYTER_CONFIG_DIR=str(state / "config"),  # not the user's ~/.jupyter
            JUPYTER_RUNTIME_DIR=str(state / "runtime"),
            PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        )
        # One thread per kernel: the test shares the CPUs with the other test worker, and
        # PyTorch's threads, when they outnumber the free cores, make a training step
        # 20 times slower (measured: 62 ms instead of 3 ms on 2 busy cores).
        env.setdefault("OMP_NUM_THREADS", "1")
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={self.port}", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0"]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # CI containers run as root
            cmd.append("--allow-root")
        self._log = open(log, "w")
        # From the course folder, as students do: nbgrader reads nbgrader_config.py there.
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, method: str = "GET"):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body = r.read()
        return json.loads(body) if body else None

    def wait_ready(self, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                self.api("/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.25)
        raise TimeoutError(f"jupyter lab did not answer within {timeout} s:\n{self.tail()}")

    def url(self, workspace: str) -> str:
        """The address of JupyterLab in a fresh, empty workspace (nothing restored)."""
        return f"{self.base}/lab/workspaces/{workspace}?token={self.token}"

    def shutdown_kernels(self) -> None:
        for session in self.api("/api/sessions"):
            try:
                self.api(f"/api/sessions/{session['id']}", method="DELETE")
            except urllib.error.URLError:
                pass

    def tail(self, n: int = 40) -> str:
        self._log.flush()
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # jupyter shuts its kernels down on SIGTERM
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        self._log.close()


# ---------------------------------------------------------------- in the page

NUMBERED = r"^\[\d+\]:$"
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in front
ERROR_MIME = "application/vnd.jupyter.stderr"  # JupyterLab draws errors and stderr alike
NEEDS_LINE = "This cell needs your"  # what nde_student.needs prints

STATE_JS = """panel => [...document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')].map(c => ({
  code: c.classList.contains('jp-CodeCell'),
  prompt: (c.querySelector('.jp-InputArea-prompt')?.textContent || '').trim(),
  outputs: [...c.querySelectorAll('.jp-OutputArea-output')].map(o => ({
    mime: o.getAttribute('data-mime-type') || (o.querySelector('.jupyter-widgets') ? 'a widget' : o.className),
    text: o.innerText.slice(0, 4000),
  })),
  images: [...c.querySelectorAll('img')].map(img => ({
    src: (img.getAttribute('src') || '').slice(0, 80), complete: img.complete,
    width: img.naturalWidth, output: !!img.closest('.jp-OutputArea-output'),
  })),
}))"""

_TRACEBACK = re.compile(r"^-{20,}\s*\n\s*([\w.]+)\s+Traceback \(most recent call last\)")
_LAST_LINE_ERROR = re.compile(r"^([\w.]*(?:Error|Exception|Interrupt|Exit|AnswerMissing))\b")


def error_name(output: dict) -> str | None:
    """The exception's name when an output drawn by JupyterLab is a Python error, else None.

    JupyterLab draws error outputs and stderr streams with the same renderer; an error
    is told apart by IPython's traceback header (or, for a SyntaxError, its last line).
    """
    if output["mime"] != ERROR_MIME:
        return None
    text = output["text"].replace("\u00a0", " ")
    m = _TRACEBACK.match(text.lstrip("\n"))
    if m:
        return m.group(1)
    lines = [line for line in text.splitlines() if line.strip()]
    m = _LAST_LINE_ERROR.match(lines[-1].strip()) if lines else None
    return m.group(1) if m else None


# Rendered markdown of the notebook in front with a $ left in its text once formulas,
# code and links are set aside (MathJax 3 in JupyterLab draws mjx-container elements).
LAB_RAW_JS = """[...document.querySelectorAll(panel + ' .jp-MarkdownOutput')].map(m => {
    const copy = m.cloneNode(true);
    copy.querySelectorAll('mjx-container, .MathJax, code, pre, script, a').forEach(e => e.remove());
    return copy.textContent; }).filter(t => t.includes('$')).map(t => t.slice(0, 120))"""
LAB_ERRORS_JS = """[...document.querySelectorAll(panel + ' mjx-merror, ' + panel + ' .MathJax_Error')]
    .map(e => e.textContent.slice(0, 80))"""
LAB_OVERFLOW_JS = """[...document.querySelectorAll(panel + ' [data-mime-type="application/vnd.jupyter.stderr"] pre')]
    .filter(p => p.scrollWidth > p.clientWidth + 2).map(p => p.textContent.slice(0, 80))"""


class LabPage:
    """One browser page on JupyterLab, reused for every notebook: loading Lab costs seconds."""

    def __init__(self, browser, lab: Lab, width: int = 1280, height: int = 900):
        self.browser, self.lab, self.size = browser, lab, {"width": width, "height": height}
        self.console: list[str] = []  # errors the page's JavaScript reported
        self.context = self.page = None
        self._n = 0
        self.outside: list[str] = []  # what the page asked of any other address (refused)
        self.reload()

    def _loopback_only(self, route) -> None:
        """JupyterLab's server and what the notebook starts on this machine (05's TensorBoard)."""
        host = urllib.parse.urlsplit(route.request.url).hostname
        if route.request.url.startswith("data:") or host in ("127.0.0.1", "localhost", "::1"):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort("internetdisconnected")

    def reload(self, timeout: float = 180_000) -> None:
        """A fresh page in a fresh workspace: after a failure, nothing is left over."""
        if self.context is not None:
            self.context.close()
        self._n += 1
        self.context = self.browser.new_context(viewport=self.size)
        # the network off, as in a classroom without one: only this machine answers
        self.context.route("**/*", self._loopback_only)
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        self.page.on("pageerror", lambda e: self.console.append(str(e)))
        self.page.goto(self.lab.url(f"test-{self._n}"), wait_until="domcontentloaded", timeout=timeout)
        # Lab is ready when its menus are drawn and the launcher fills the empty main area.
        self.page.wait_for_selector(".jp-LauncherCard", timeout=timeout)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None

    # ---- menus and dialogs, as a person clicks them

    def menu(self, top: str, item: str) -> None:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}")).click()

    def menu_items(self, top: str) -> list[str]:
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
        self.page.wait_for_selector(".lm-Menu .lm-Menu-itemLabel")
        labels = self.page.locator(".lm-Menu .lm-Menu-itemLabel").all_inner_texts()
        self.page.keyboard.press("Escape")
        return [label.strip() for label in labels if label.strip()]

    # ---- notebooks

    def open(self, path: str, n_cells: int, timeout: float = 120_000) -> None:
        """File > Open from Path...; wait for all cells and for the kernel to be idle."""
        self.menu("File", "Open from Path")
        self.page.locator(".jp-Dialog input").fill(path)
        self.page.keyboard.press("Enter")
        self.page.wait_for_function(
            """([panel, name, n]) => {
              const tab = document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel');
              return tab && tab.textContent.trim() === name
                && document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell').length >= n;
            }""", arg=[PANEL, path.rsplit("/", 1)[-1], n_cells], timeout=timeout)
        self.wait_idle(timeout)

    def modified(self) -> bool:
        """Whether the notebook in front shows as modified (unsaved changes) in its tab."""
        return self.page.evaluate(
            "() => !!document.querySelector('.lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty')")

    def wait_idle(self, timeout: float = 120_000) -> None:
        """The kernel is connected and idle (notebook toolbar indicator and status bar)."""
        self.page.wait_for_function(
            """panel => {
              const ind = document.querySelector(panel + ' .jp-Notebook-ExecutionIndicator');
              const bar = [...document.querySelectorAll('.jp-StatusBar-TextItem')].map(e => e.textContent).join(' ');
              return ind && ind.getAttribute('data-status') === 'idle' && /\\| Idle/.test(bar);
            }""", arg=PANEL, timeout=timeout)

    def close_notebook(self, timeout: float = 30_000) -> None:
        """File > Close and Shut Down Notebook; accept its questions (it is a scratch copy)."""
        self.menu("File", "Close and Shut Down Notebook")
        accept = re.compile(r"^(Ok|Discard|Don't Save|Shut Down|Close)$", re.I)
        for _ in range(4):  # "Shut down the notebook?", then perhaps "Save your work?"
            self.page.wait_for_function(
                "panel => !document.querySelector(panel) || !!document.querySelector('.jp-Dialog')",
                arg=PANEL, timeout=timeout)
            if not self.page.query_selector(PANEL):
                return
            self.page.locator(".jp-Dialog button", has_text=accept).last.click()
            self.page.wait_for_function(
                "panel => !document.querySelector(panel) || !document.querySelector('.jp-Dialog')",
                arg=PANEL, timeout=timeout)
        raise RuntimeError("the notebook did not close")

    def run_cells_one_by_one(self, cells: list[tuple[str, str]], cell_timeout: float = 180_000) -> dict[int, float]:
        """Run every code cell in order, as a student does with Ctrl+Enter, each to its end.

        Run All would stop at the first error; the release must show the
        NotImplementedError of every unanswered exercise, each in its own cell.
        Returns the seconds each code cell took, from the key press to its number.
        """
        seconds = {}
        dom_cells = self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell")
        for i, (kind, source) in enumerate(cells):
            if kind != "code" or not source.strip():
                continue
            prompt = dom_cells.nth(i).locator(".jp-InputArea-prompt")
            prompt.scroll_into_view_if_needed()
            prompt.click()  # selects the cell, in command mode
            start = time.monotonic()
            self.page.keyboard.press("Control+Enter")  # Run Selected Cell and Do not Advance
            self.page.wait_for_function(
                """([panel, i, pattern]) => {
                  const c = document.querySelectorAll(panel + ' .jp-Notebook .jp-Cell')[i];
                  return new RegExp(pattern).test((c.querySelector('.jp-InputArea-prompt')?.textContent || '').trim());
                }""", arg=[PANEL, i, NUMBERED], timeout=cell_timeout, polling=100)
            seconds[i] = time.monotonic() - start
        self.wait_idle(cell_timeout)
        return seconds

    def run_all(self, n_code: int, timeout: float = 300_000) -> None:
        """Run > Run All Cells; wait until every code cell ran, or one raised (Run All stops)."""
        self.menu("Run", "Run All Cells")
        self.page.wait_for_function(
            """([panel, n, pattern, mime]) => {
              const prompts = [...document.querySelectorAll(panel + ' .jp-Notebook .jp-CodeCell')]
                .map(c => (c.querySelector('.jp-InputArea-prompt')?.textContent || '').trim());
              if (prompts.some(p => p === '[*]:')) return false;
              const done = prompts.filter(p => new RegExp(pattern).test(p)).length;
              return done >= n || (done > 0 && !!document.querySelector(`${panel} [data-mime-type="${mime}"]`));
            }""", arg=[PANEL, n_code, NUMBERED, ERROR_MIME], timeout=timeout, polling=250)
        self.wait_idle(timeout)

    def validate(self, timeout: float = 300_000) -> tuple[bool, str]:
        """Click nbgrader's Validate button; return (passed, the dialog's message)."""
        self.page.locator(f"{PANEL} .validate-button").click()
        message = self.page.locator("#validation-message")
        message.wait_for(state="visible", timeout=timeout)
        passed = "validation-success" in (message.get_attribute("class") or "")
        text = message.inner_text()
        self.page.locator(".jp-Dialog button", has_text=re.compile(r"^(Ok|OK)$")).last.click()
        return passed, text

    def wait_images(self, timeout: float = 30_000) -> None:
        self.page.wait_for_function(
            "panel => [...document.querySelectorAll(panel + ' img')].every(i => i.complete)",
            arg=PANEL, timeout=timeout)

    def cells(self) -> list[dict]:
        return self.page.evaluate(STATE_JS, PANEL)

    def reading_problems(self, math: bool, timeout: float = 60_000) -> list[str]:
        """What a person could not read in the notebook in front: a formula left as raw $ or
        shown as MathJax's error mark (once MathJax has typeset what it will), an error's or
        stderr's text wider than its box, a request to an address off this machine;
        ``math``: the notebook has formulas, so some must be typeset."""
        try:
            self.page.wait_for_function(LAB_RAW_JS + ".length === 0", arg=PANEL, timeout=timeout, polling=500)
        except Exception:  # noqa: BLE001 (reported below, with what is left)
            pass
        found = self.page.evaluate(f"panel => ({{raw: {LAB_RAW_JS}, errors: {LAB_ERRORS_JS}, "
                                   f"overflow: {LAB_OVERFLOW_JS}, "
                                   f"typeset: document.querySelectorAll(panel + ' mjx-container').length}})", PANEL)
        problems = ["no formula typeset"] if math and not found["typeset"] else []
        problems += [f"a formula left as raw TeX: {t!r}" for t in found["raw"][:3]]
        problems += [f"a formula MathJax could not typeset: {t!r}" for t in found["errors"][:3]]
        problems += [f"an error's text wider than its box: {t!r}" for t in found["overflow"][:3]]
        problems += [f"asked the network for {url}" for url in self.outside]
        self.outside.clear()
        return problems

    def screenshot(self, path: Path, max_height: int = 16_000) -> None:
        """The whole notebook in one picture: the window grows to the notebook's height."""
        extra = self.page.evaluate(
            """panel => {
              const scroller = document.querySelector(panel + ' .jp-WindowedPanel-outer');
              if (!scroller) return 0;
              scroller.scrollTop = 0;
              return scroller.scrollHeight - scroller.clientHeight;
            }""", PANEL)
        height = min(self.size["height"] + max(extra, 0), max_height)
        self.page.set_viewport_size({"width": self.size["width"], "height": height})
        self.page.wait_for_timeout(500)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path))
        self.page.set_viewport_size(self.size)


# ---------------------------------------------------------------- pages that show a graded notebook

# What a person reads on a page that shows a notebook (the feedback, formgrader's view):
# formulas typeset, none left as raw $ or as MathJax's error mark, images loaded, error
# and stderr text within its box, nothing wider than the window.
VIEW_JS = """() => {
  const typeset = document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_SVG, mjx-container').length;
  const raw = [...document.querySelectorAll('.text_cell_render')].map(e => {
      const copy = e.cloneNode(true); copy.querySelectorAll('code, pre, script').forEach(c => c.remove());
      return copy.innerText; }).filter(t => t.includes('$')).map(t => t.slice(0, 120));
  const images = [...document.querySelectorAll('img')].map(i => ({src: i.src.slice(0, 40), ok: i.complete && i.naturalWidth > 0,
      output: !!i.closest('.output_area, .output_png, .output')}));
  // MathJax's own marks of a formula it could not typeset: "[Math Processing Error]", a TeX error
  const errors = [...document.querySelectorAll('.MathJax_Error, .merror, mjx-merror')].map(e => {
      const script = e.parentNode && e.parentNode.querySelector('script[type^="math/tex"]');
      return (script ? script.textContent : e.textContent).slice(0, 80); });
  // a failed test's hint that runs past its box (read only by scrolling sideways)
  const overflow = [...document.querySelectorAll('.output_error pre, .output_stderr pre')]
      .filter(p => p.scrollWidth > p.clientWidth + 2).map(p => p.textContent.slice(0, 80));
  // the page itself wider than the window (an output too wide for it)
  const wide = document.documentElement.scrollWidth - document.documentElement.clientWidth;
  return {typeset, raw, images, errors, overflow, wide};
}"""
MATHJAX_DONE = ("() => window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 "
                "&& MathJax.Hub.queue.running === 0")


def view_problems(page, where: str) -> tuple[list[str], dict]:
    """Wait for MathJax to finish, read the page with VIEW_JS; (what a person would not
    read as meant, what VIEW_JS found)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    problems = []
    try:
        page.wait_for_function(MATHJAX_DONE, timeout=60_000)
    except PlaywrightTimeout:
        problems.append(f"{where}: MathJax did not load, or did not finish within 60 s")
    found = page.evaluate(VIEW_JS)
    if not found["typeset"]:
        problems.append(f"{where}: no formula typeset")
    problems += [f"{where}: raw $ left: {t!r}" for t in found["raw"][:3]]
    problems += [f"{where}: image {i['src']!r} not loaded" for i in found["images"] if not i["ok"]]
    problems += [f"{where}: a formula MathJax could not typeset: {e!r}" for e in found["errors"][:3]]
    problems += [f"{where}: a hint wider than its box: {t!r}" for t in found["overflow"][:3]]
    if found["wide"] > 2:
        problems.append(f"{where}: the page is {found['wide']} px wider than the window")
    return problems, found


def browser_unavailable(reason: str):
    """Fail where CI is set (the browser tests must run there), skip elsewhere."""
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (CI is set: the browser tests must run). Run scripts/install_system.sh.")
    pytest.skip(f"{reason}: run scripts/install_system.sh to install Debian's Chromium")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, one per test module (imported by the modules that use it)."""
    if not CHROMIUM.exists():
        browser_unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        browser_unavailable("Python Playwright is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()

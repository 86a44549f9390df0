"""nbgrader's Execute preprocessor for grading the course: the grader decides every test cell.

For each notebook ``GradingExecute``:

1. makes a scratch folder holding only the assignment's other notebooks of the student
   (no other file of theirs: nothing submitted configures the kernel) and a home folder
   of the grader's own, and starts the kernel there, in the grading sandbox
   (``sandbox.py``): a file system without the course's repository, gradebook or other
   students, a user of its own, no network, a clean environment, and none of the
   grader's descriptors (its output goes to a file of its own, never to nbgrader's log);
2. before the first cell, runs a setup that writes Python warnings in a form the grader
   can tell apart (``nde_student.warnings_only``) and gives ``from_notebook`` the course's
   answers of the *earlier* notebooks, never of this one;
3. runs every cell. A test cell's hidden block never reaches the kernel: the cell runs
   without it, then each hidden check named in it runs here, in the grader's process,
   reaching the student's code through a ``KernelProbe``. The cell's **verdict** is the
   grader's own: it passes when the kernel's reply to its visible asserts says "ok" and
   every hidden check passed; the outputs the kernel produced never decide (they are
   kept for the feedback, with the reason of a failure added). ``SaveVerdicts``
   (below) scores each test cell from its verdict;
4. keeps the notebook's time budget itself: no cell, visible or hidden, may run past it;
   past it the notebook stops, and the test cells not run score 0;
5. writes the journal (``journal.py``: verdicts, how the notebook ended, the cell a dead
   kernel died in) for ``course/autograde.py``; shuts the kernel down, kills whatever it left
   running and removes the scratch folder.

``sandbox = False`` (``python -m course grade --no-sandbox``) skips the sandbox only: the
kernel then runs as the grader's user and can read whatever that user can.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbconvert.preprocessors.execute import NotebookClient
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, SaveAutoGrades
from nbgrader.utils import is_grade, is_solution
from traitlets import Bool, Integer, Unicode

from nde_student.cells import only_docstring, strip_colours
from nde_student.warnings_only import NORMALIZE_WARNINGS

from .cells import grade_id
from .hidden import checks_in, visible_part
from .journal import DONE, KERNEL_DIED, NOTEBOOK_BUDGET_S, STOPPED, Journal, Verdict
from .kernel.sandbox import ZYGOTE_CLIENT, Sandbox
from .kernel.warm import Zygote
from .probe import KernelProbe, run_check
from .reference_build import earlier_exports
from .syntax import parse

_PROVIDE = "import nde_student.earlier as __nde_e\n__nde_e.provide({sources})\ndel __nde_e\n"

MAX_OUTPUT_BYTES = 256 * 2**20
"""Output a notebook's kernel may send the grader (all cells, hidden checks included);
beyond it the grader drops what comes, so that no kernel can fill the grader's memory.
(LimitOutputSize then cuts what is kept to what a page can show.)"""


def is_test_cell(cell) -> bool:
    """A code cell that nbgrader grades automatically: the course's test cells."""
    return cell.get("cell_type") == "code" and is_grade(cell) and not is_solution(cell)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel talks through Unix sockets in its scratch folder,
    starts inside the sandbox when ``sandboxed``, and is forked by a zygote (modules
    already imported) when ``zygote`` names one."""

    def __init__(self, box: Sandbox, sandboxed: bool, zygote: str | None = None, **kwargs):
        super().__init__(transport="ipc", ip=box.ipc_prefix, connection_file=box.connection_file, **kwargs)
        self._box, self._sandboxed, self._zygote = box, sandboxed, zygote

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if self._zygote:
            config = self._box.write_config() if self._sandboxed else "-"
            return [sys.executable, "-I", "-S", str(ZYGOTE_CLIENT), self._zygote, config, "--", *cmd]
        return self._box.command(cmd) if self._sandboxed else cmd


class GradingExecute(Execute):
    sandbox = Bool(True, help="Run every grading kernel in the grading sandbox (needs Linux and bubblewrap)."
                   ).tag(config=True)
    scratch_dir = Unicode("", help="Where the kernels' scratch folders go (default: the system's temporary folder).").tag(
        config=True)
    zygote = Bool(True, help="Fork kernels from a process that has imported the heavy modules once "
                  "(nde_grader/kernel/zygote.py); NDE_ZYGOTE=0 turns it off.").tag(config=True)
    journal_dir = Unicode("", help="Where to write each notebook's journal (nde_grader/journal.py); "
                          "course/autograde.py sets it.").tag(config=True)
    notebook_budget = Integer(NOTEBOOK_BUDGET_S, help="Seconds one notebook may run (NDE_NOTEBOOK_BUDGET_S); the "
                              "test cells not run by then score 0.").tag(config=True)

    # --- the kernel ---------------------------------------------------------------------

    def create_kernel_manager(self):
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        self.km = SandboxKernelManager(self._box, self.sandbox, self._zygote, kernel_name=self.kernel_name,
                                       config=self.config)
        return self.km

    async def async_start_new_kernel(self, **kwargs):
        # the kernel's environment, folders and descriptors are the grader's choice, never
        # the submission's nor nbgrader's (its output goes to a file of its own)
        kwargs.update(cwd=str(self._box.work), env=self._box.env(), stdin=subprocess.DEVNULL,
                      stdout=self._kernel_output, stderr=self._kernel_output)
        extra = list(self.extra_arguments)
        if not any(a.startswith("--HistoryManager") for a in extra):
            extra.append("--HistoryManager.hist_file=:memory:")  # no history written anywhere
        self.extra_arguments = extra
        await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)  # nbclient binds its own at class level

    def _paths(self, resources: dict) -> tuple:
        """(the student's submission folder, the source folder, this notebook's name)."""
        info = resources.get("nbgrader", {})
        coursedir = CourseDirectory(parent=self)
        student, assignment = info.get("student"), info.get("assignment")
        submitted = Path(coursedir.format_path(coursedir.submitted_directory, student, assignment))
        source = Path(coursedir.format_path(coursedir.source_directory, ".", assignment))
        return submitted, source, info.get("notebook", "")

    def _setup_code(self, source, notebook: str) -> str:
        provided = earlier_exports(source, notebook) if source.is_dir() else {}
        return NORMALIZE_WARNINGS + _PROVIDE.format(sources=json.dumps(provided))

    # --- the notebook -------------------------------------------------------------------

    def preprocess(self, nb, resources=None, km=None):
        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        submitted, source, notebook = self._paths(self.resources or {})
        self._deadline = time.monotonic() + self.notebook_budget
        self._journal = Journal(notebook or "notebook")
        self._running, self._reply, self._output_bytes, self._output_cut = "", None, 0, False
        self._zygote = Zygote.socket(sandboxed=self.sandbox) if self.zygote else None
        self._box = Sandbox(parent=self.scratch_dir or None, hide=[str(Path(CourseDirectory(parent=self).root).resolve())],
                            zygote=self._zygote)
        self._harness_loaded: set[str] = set()
        start = time.monotonic()
        self._write_journal()
        self._kernel_output = open(self._box.output_file, "wb")
        try:
            # the kernel sees the student's other notebooks of the assignment (from_notebook
            # reads them where the grader gives no answer), nothing else of theirs
            names = {p.name for p in source.glob("*.ipynb")} - {f"{notebook}.ipynb"}
            self._box.add_notebooks(submitted, names)
            with self.setup_kernel():
                assert self.kc
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                self._run_silently(self._setup_code(source, notebook))
                for index, cell in enumerate(self.nb.cells):
                    self.preprocess_cell(cell, self.resources, index)
            if self._journal.state != STOPPED:
                self._journal.state = DONE
        except DeadKernelError:
            self._journal.state, self._journal.cell = KERNEL_DIED, self._running
            raise
        except Exception:
            self.log.error("The kernel's own output, last lines:\n%s", self._box.output_tail())
            raise
        finally:
            self._journal.seconds = round(time.monotonic() - start, 2)
            self._write_journal()
            self._kernel_output.close()
            self._box.close()
        self.resources["nde_verdicts"] = dict(self._journal.verdicts)
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _write_journal(self) -> None:
        if self.journal_dir:
            self._journal.write(self.journal_dir)

    def _run_silently(self, code: str) -> None:
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False, allow_stdin=False))
        if reply is None or reply["content"]["status"] != "ok":
            content = (reply or {}).get("content", {})
            raise RuntimeError(f"the grader's setup failed in the kernel: {content.get('ename')}: {content.get('evalue')}")

    # --- time and output limits ---------------------------------------------------------

    def _remaining(self) -> float:
        return self._deadline - time.monotonic()

    def _get_timeout(self, cell):
        """The cell's own limit, and never past the notebook's budget."""
        timeout = super()._get_timeout(cell)
        left = max(1, int(self._remaining()) + 1)
        return left if timeout is None else min(timeout, left)

    def on_cell_executed(self, **kwargs):
        super().on_cell_executed(**kwargs)
        self._reply = (kwargs.get("execute_reply") or {}).get("content", {})

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        data = content.get("data") or {}
        self._output_bytes += len(str(content.get("text", ""))) + len(str(content.get("traceback", ""))) + sum(
            len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())
        if self._output_bytes > MAX_OUTPUT_BYTES:
            if not self._output_cut:
                self._output_cut = True
                self.log.warning("Output of %s cut: the kernel sent more than %d MB", self._journal.notebook,
                                 MAX_OUTPUT_BYTES // 2**20)
                outs.append(nbformat.v4.new_output("stream", name="stdout", text=(
                    f"\n[the grader kept no more output: this notebook sent more than {MAX_OUTPUT_BYTES // 2**20} MB]\n")))
            return None
        return super().output(outs, msg, display_id, cell_index)

    # --- cells --------------------------------------------------------------------------

    def preprocess_cell(self, cell, resources, index):
        if self._journal.state == STOPPED:
            if is_test_cell(cell):
                self._fail(cell, "NotRun", f"not run: grading of this notebook stopped earlier ({self._journal.why})")
            return cell, self.resources
        self._running = cell.get("id", "")
        try:
            if is_test_cell(cell):
                self._test(cell, index)
            else:
                cell, _ = super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:  # interrupted at a time limit, the kernel went on: nothing more can run
            self._stop("the kernel did not stop when interrupted at a time limit (a loop that catches "
                       "KeyboardInterrupt?)")
            cell = self.nb.cells[index]
            cell.outputs.append(_error("CellTimeoutError", f"the kernel did not stop at the time limit; {self._journal.why}"))
            if is_test_cell(cell):
                self._fail(cell, "CellTimeoutError", "the kernel did not stop at the time limit", output=False)
        if self._remaining() <= 0 and self._journal.state != STOPPED:
            self._stop(f"the time budget of a notebook, {self.notebook_budget} s")
        return cell, self.resources

    def _stop(self, why: str) -> None:
        """Run no more cells of this notebook (its test cells not run yet score 0)."""
        if self._remaining() <= 0:
            why = f"the time budget of a notebook, {self.notebook_budget} s"
        self._journal.state, self._journal.why = STOPPED, why
        self.log.info("%s stopped: %s", self._journal.notebook, why)

    def _fail(self, cell, ename: str, why: str, output: bool = True) -> None:
        """Record a failed verdict for the test cell; show the reason in it unless it is there already."""
        self._journal.verdicts[grade_id(cell)] = Verdict(False, f"{ename}: {why}")
        if output:
            cell.outputs.append(_error(ename, why))

    def _test(self, cell, index: int) -> None:
        """Run a test cell's visible asserts in the kernel and its hidden checks here; record the verdict."""
        gid = grade_id(cell)
        full = cell.source
        try:
            checks = checks_in(full) or []
        except ValueError as exc:  # the instructor's block, restored from the gradebook: a fault of the course
            self.log.error("Test cell %s: %s", gid, exc)
            checks = []
        cell.source = visible_part(full)
        self._reply = {"status": "ok"}
        try:
            if not only_docstring(cell.source, parse):  # a docstring alone would only echo itself
                cell = self.execute_cell(cell, index, store_history=True)
            else:
                cell.outputs = []
        finally:
            cell.source = full
            self.nb.cells[index] = cell
        reply = self._reply or {}
        if reply.get("status") != "ok":
            why = _first_line(reply.get("evalue")) or "raised while the visible tests ran"
            self._fail(cell, reply.get("ename") or "Error", why, output=False)  # nbgrader shows the reply's error
            if not any(o.get("output_type") == "error" for o in cell.outputs):
                cell.outputs.append(_error(reply.get("ename") or "Error", why))
            return
        if not checks:
            self.log.error("Test cell %s names no hidden check: it cannot pass (the grader checks every test itself)", gid)
            self._fail(cell, "GradingError", "this test has no hidden check, so the grader cannot decide it; the "
                       "instructor is told")
            return
        probe = KernelProbe(lambda code: self._run_hidden(code, index, cell), self._harness_loaded)
        for name in checks:
            try:
                run_check(name, probe)
            except AssertionError as exc:
                self._fail(cell, "AssertionError", str(exc))
                return
            except (DeadKernelError, CellTimeoutError):
                raise
            except Exception as exc:  # noqa: BLE001 (a reply the check cannot read, or a fault of the check)
                self.log.info("Hidden check %s of %s could not finish: %s: %s", name, gid, type(exc).__name__, exc)
                self._fail(cell, "AssertionError", f"the hidden test {name} could not check the results your code "
                           f"sent back ({type(exc).__name__}: {_first_line(str(exc))})")
                return
        self._journal.verdicts[gid] = Verdict(True)

    def _run_hidden(self, code: str, index: int, cell) -> tuple[list, dict]:
        """Run ``code`` in the kernel for the test cell ``cell`` (no history, outputs kept
        apart from the notebook's); return its outputs and the kernel's reply."""
        probe = nbformat.v4.new_code_cell(code)
        probe.id = cell.get("id", probe.id)  # a kernel that dies here is blamed on the test cell
        self._reply = None
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:
            self.nb.cells[index] = cell
        return probe.outputs, self._reply or {}


def _first_line(text) -> str:
    lines = strip_colours(str(text or "")).strip().splitlines()
    return lines[0][:300] if lines else ""


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class SaveVerdicts(SaveAutoGrades):
    """nbgrader's SaveAutoGrades, with every test cell scored from the grader's verdict
    (``GradingExecute``: the visible asserts' reply and the hidden checks), never from the
    cell's outputs: nbgrader's own rule reads the first output, which a kernel can steer
    (a displayed value before an error earns full points there). A test cell without a
    verdict scores 0. Answer cells and written answers are scored as nbgrader does."""

    def _add_score(self, cell, resources) -> None:
        if not is_test_cell(cell):
            return super()._add_score(cell, resources)
        gid = grade_id(cell)
        grade = self.gradebook.find_grade(gid, self.notebook_id, self.assignment_id, self.student_id)
        verdict = resources.get("nde_verdicts", {}).get(gid)
        if verdict is None:
            self.log.warning("Test cell %s has no verdict of the grader: 0 points", gid)
        grade.auto_score = float(grade.max_score) if verdict is not None and verdict.passed else 0.0
        grade.needs_manual_grade = grade.manual_score is not None
        self.gradebook.db.commit()

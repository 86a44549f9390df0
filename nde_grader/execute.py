"""nbgrader's Execute preprocessor for grading the course, with the answers out of reach.

For each notebook ``GradingExecute``:

1. makes a scratch folder holding only the student's own files (those of their
   submission folder), and starts the kernel there, in the grading sandbox
   (``sandbox.py``): a file system without the course's repository, gradebook or other
   students, as a user of its own, without network;
2. before the first cell, runs a setup that writes Python warnings in a form the grader
   can tell apart (``nde_student.warnings_only``) and gives ``from_notebook`` the course's
   answers of the *earlier* notebooks, never of this one;
3. runs every cell; a test cell's hidden block never reaches the kernel. The cell runs
   without it, then each hidden check named in it runs here, in the grader's process,
   reaching the student's code through a ``KernelProbe``. A failed check becomes the
   cell's error output, so nbgrader scores the cell 0 as for any failing test;
4. shuts the kernel down, kills whatever it left running and removes the scratch folder.

``sandbox = False`` (``python -m course grade --no-sandbox``) skips step 1's sandbox only:
the kernel then runs as the grader's user and can read whatever that user can.
"""
from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import DeadKernelError
from nbconvert.preprocessors.execute import NotebookClient
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from traitlets import Bool, Unicode

from nde_student.warnings_only import NORMALIZE_WARNINGS

from .exports import earlier_exports
from .hidden import checks_in, visible_part
from .probe import KernelProbe, run_check
from .sandbox import ZYGOTE_CLIENT, Sandbox, Zygote
from .syntax import parse

_PROVIDE = "import nde_student.earlier as __nde_e\n__nde_e.provide({sources})\ndel __nde_e\n"


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
    sandbox = Bool(True, help="Run every grading kernel in the grading sandbox (needs Linux and root).").tag(config=True)
    scratch_dir = Unicode("", help="Where the kernels' scratch folders go (default: the system's temporary folder).").tag(
        config=True)
    zygote = Bool(True, help="Fork kernels from a process that has imported the heavy modules once "
                  "(nde_grader/zygote.py); NDE_ZYGOTE=0 turns it off.").tag(config=True)

    # --- the kernel ---------------------------------------------------------------------

    def create_kernel_manager(self):
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or "python3"
        zygote = Zygote.socket() if self.zygote else None
        self.km = SandboxKernelManager(self._box, self.sandbox, zygote, kernel_name=self.kernel_name, config=self.config)
        return self.km

    async def async_start_new_kernel(self, **kwargs):
        kwargs["cwd"] = str(self._box.work)
        extra = list(self.extra_arguments)
        if not any(a.startswith("--HistoryManager") for a in extra):
            extra.append("--HistoryManager.hist_file=:memory:")  # no history written anywhere
        self.extra_arguments = extra
        await super().async_start_new_kernel(**kwargs)

    def _student_files(self, resources: dict) -> tuple:
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
        submitted, source, notebook = self._student_files(self.resources or {})
        self._box = Sandbox(parent=self.scratch_dir or None, hide=[str(Path(CourseDirectory(parent=self).root).resolve())])
        self._harness_loaded: set[str] = set()
        try:
            if submitted.is_dir():
                for why in self._box.add_files(submitted, skip={f"{notebook}.ipynb"}):
                    self.log.warning("Not given to the kernel: %s", why)
            with self.setup_kernel():
                assert self.kc
                info_msg = self.wait_for_reply(self.kc.kernel_info())
                self.nb.metadata["language_info"] = info_msg["content"]["language_info"]
                self._run_silently(self._setup_code(source, notebook))
                for index, cell in enumerate(self.nb.cells):
                    self.preprocess_cell(cell, self.resources, index)
        finally:
            self._box.close()
        self.set_widgets_metadata()
        return self.nb, self.resources

    def _run_silently(self, code: str) -> None:
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False, allow_stdin=False))
        if reply is None or reply["content"]["status"] != "ok":
            content = (reply or {}).get("content", {})
            raise RuntimeError(f"the grader's setup failed in the kernel: {content.get('ename')}: {content.get('evalue')}")

    def run_hidden(self, code: str, index: int, cell) -> list:
        """Run ``code`` in the kernel for the test cell ``cell`` (no history, outputs kept
        apart from the notebook's); return its outputs."""
        probe = nbformat.v4.new_code_cell(code)
        probe.id = cell.get("id", probe.id)  # a kernel that dies here is blamed on the test cell
        try:
            self.execute_cell(probe, index, store_history=False)
        finally:
            self.nb.cells[index] = cell
        return probe.outputs

    def preprocess_cell(self, cell, resources, index):
        checks = checks_in(cell.source) if cell.cell_type == "code" else None
        if not checks:
            return super().preprocess_cell(cell, resources, index)
        full = cell.source
        cell.source = visible_part(full)
        try:
            if _runs_something(cell.source):  # a docstring alone would only echo itself
                cell = self.execute_cell(cell, index, store_history=True)
            else:
                cell.outputs = []
        finally:
            cell.source = full
            self.nb.cells[index] = cell
        if any(o.output_type == "error" for o in cell.outputs):
            return cell, self.resources
        probe = KernelProbe(lambda code: self.run_hidden(code, index, cell), self._harness_loaded)
        for name in checks:
            try:
                run_check(name, probe)
            except AssertionError as exc:
                cell.outputs.append(_error("AssertionError", str(exc)))
                break
            except DeadKernelError:
                raise
            except Exception as exc:  # noqa: BLE001 (a fault of the check itself: reported, never a pass)
                self.log.error("Hidden check %s failed to run: %s: %s", name, type(exc).__name__, exc)
                cell.outputs.append(_error("GradingError", f"the hidden check {name} could not run ({type(exc).__name__}: "
                                           f"{exc}); the instructor is told"))
                break
        return cell, self.resources


def _runs_something(source: str) -> bool:
    """False for code made only of a docstring, comments and blank lines."""
    try:
        body = parse(source).body
    except SyntaxError:
        return True
    return not all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in body)


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])

"""The Validate button of the students' JupyterLab, with the self-check's verdict.

nbgrader's Validate button (its JupyterLab extension) sends the notebook's path to the
server, at ``/assignments/validate``, and shows the reply in a dialog. nbgrader's own
server extension answers with the source and the raw traceback of every failing cell;
this one answers at the same address, in the same format, with what
``python -m nde_student validate`` prints: one entry per problem, named as the notebook
names it ("Exercise 2, `L`"), and what to do about it. A locked cell whose source or type
was changed is reported as nbgrader reports it, before anything runs.

The student bundle's Jupyter configuration (``nde-student-lab/``) turns this server
extension on, and nbgrader's validate_assignment server extension off.
"""
from __future__ import annotations

import asyncio
import html
import json
import traceback
from pathlib import Path

import nbformat
from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler, default_handlers
from nbgrader.validator import Validator
from tornado import web

from .selfcheck import run, summarize, verdict


class CourseValidator(Validator):
    """nbgrader's Validator, whose verdict on a notebook that runs is the self-check's."""

    def validate(self, filename: str) -> dict[str, list[dict[str, str]]]:
        path = Path(filename)
        nb = nbformat.read(path, as_version=nbformat.current_nbformat)
        if self._get_type_changed_cells(nb):
            return super().validate(filename)  # nbgrader reports those before anything runs
        changed = [] if self.ignore_checksums else self._get_changed_cells(nb)
        if changed:  # a locked cell edited: nbgrader's report, without running the notebook
            return {"changed": [{"source": cell.source.strip()} for cell in changed]}
        passed, problems = summarize(run(path))
        if not problems:
            return {}  # the dialog says: Success! Your notebook passes all the tests.
        entries = [{"source": p.where, "error": html.escape(f"{p.kind}: {p.what}"), "raw_error": f"{p.kind}: {p.what}"}
                   for p in problems]
        summary = verdict(path.name, passed, problems)
        entries[-1]["error"] += "\n\n" + html.escape(summary)
        entries[-1]["raw_error"] += "\n\n" + summary
        return {"failed": entries}


class CourseValidateHandler(ValidateAssignmentHandler):
    """nbgrader's handler of the Validate button, with the course's Validator; the notebook
    runs in a thread of its own, so that JupyterLab stays responsive meanwhile."""

    def validate_notebook(self, path: str) -> dict:
        root = Path(self.root_dir).resolve()
        target = (root / path).resolve()
        if not target.is_relative_to(root):
            raise web.HTTPError(403, "Access denied: path outside allowed directory")
        try:
            result = CourseValidator(config=self.load_config()).validate(str(target))
        except Exception:  # noqa: BLE001 (shown in the dialog, as nbgrader shows it)
            self.log.error(traceback.format_exc())
            return {"success": False, "value": traceback.format_exc()}
        return {"success": True, "value": result}

    @web.authenticated
    async def post(self) -> None:
        try:
            path = self.get_argument("path")
        except web.MissingArgumentError:
            path = self.get_json_body()["path"]
        result = await asyncio.to_thread(self.validate_notebook, path)
        self.finish(json.dumps(result))


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nde_student.lab"}]


def _load_jupyter_server_extension(server_app) -> None:
    """nbgrader's addresses of the Validate button, the course's handler at the validate one."""
    web_app = server_app.web_app
    web_app.settings["root_dir"] = server_app.root_dir
    handlers = [(url_path_join(web_app.settings["base_url"], pattern),
                 CourseValidateHandler if handler is ValidateAssignmentHandler else handler)
                for pattern, handler in default_handlers]
    web_app.add_handlers(".*$", handlers)
    server_app.log.info("nde_student: the Validate button gives the course's self-check")

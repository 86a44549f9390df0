"""The pieces of "the grader decides", one by one, without a kernel (milliseconds each).

The whole path is tested by tests/test_attacks.py (attacks graded through ``grade``);
here: the probe accepts exactly one reply, the harness's, with the request's token; a
submission's files are sorted before anything is read; report lines cannot carry a
terminal's control characters; kernel user ids never collide between processes.
"""
from __future__ import annotations

import json
import os

import nbformat
import pytest

from course.submission import MAX_ENTRIES, submission_files
from course.text import printable
from nde_grader.kernel import sandbox
from nde_grader.harness import MIME, encode
from nde_grader.probe import KernelProbe, KernelRaised


class _Kernel:
    """Answers each probe request with what ``reply(code)`` makes of it."""

    def __init__(self, reply):
        self.reply, self.requests = reply, []

    def __call__(self, code: str):
        self.requests.append(code)
        if "__nde_load" in code:  # the harness's bootstrap
            return [], {"status": "ok"}
        token = code.rsplit(", ", 1)[-1].rstrip(")").strip("'")
        return self.reply(token), {"status": "ok"}


def _display(data) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={MIME: data})


def _probe(reply) -> KernelProbe:
    return KernelProbe(_Kernel(reply), set())


def test_the_harness_reply_with_its_token_is_read():
    probe = _probe(lambda token: [_display({"token": token, "result": encode({"value": 1.5})})])
    assert probe.run("problem.truth", calls=[]) == {"value": 1.5}


@pytest.mark.parametrize("outputs", [
    lambda token: [],  # no reply
    lambda token: [_display({"token": token, "result": 1}), _display({"token": token, "result": 1})],  # two
    lambda token: [_display({"token": "0" * 32, "result": 1})],  # another token
    lambda token: [_display({"result": 1})],  # no token
    lambda token: [_display([])],  # the old shape
    lambda token: [_display({"token": token, "result": 1, "extra": 2})],
    lambda token: [nbformat.v4.new_output("execute_result", data={MIME: {"token": token, "result": 1}}, execution_count=1)],
    lambda token: [_display({"token": token, "result": {"__array__": ["float64", [3], "AAAA"]}})],  # 3 bytes for 24
    lambda token: [_display({"token": token, "result": {"__array__": ["object", [1], ""]}})],
    lambda token: [_display('{"token": "x"')],  # not JSON
], ids=["none", "two", "other-token", "no-token", "old-shape", "extra-key", "not-display", "short-array",
        "bad-dtype", "not-json"])
def test_any_other_reply_is_refused(outputs):
    with pytest.raises(KernelRaised) as raised:
        _probe(outputs).run("problem.truth", calls=[])
    assert raised.value.ename == "BadReply"


def test_a_failed_request_raises_even_without_an_error_output():
    probe = KernelProbe(lambda code: ([], {"status": "ok"} if "__nde_load" in code else
                                      {"status": "error", "ename": "ValueError", "evalue": "no"}), set())
    with pytest.raises(KernelRaised) as raised:
        probe.run("problem.truth", calls=[])
    assert raised.value.ename == "ValueError"


def test_every_request_carries_a_fresh_token():
    kernel = _Kernel(lambda token: [_display({"token": token, "result": 0})])
    probe = KernelProbe(kernel, set())
    probe.run("problem.truth", calls=[])
    probe.run("problem.truth", calls=[])
    tokens = [code.rsplit(", ", 1)[-1] for code in kernel.requests if "__nde_load" not in code]
    assert len(tokens) == 2 and tokens[0] != tokens[1] and len(tokens[0]) >= 32


def test_a_submission_is_sorted_before_anything_is_read(tmp_path):
    folder = tmp_path / "divergence"
    (folder / ".ipython/profile_default/startup").mkdir(parents=True)
    (folder / ".ipython/profile_default/startup/00.py").write_text("x = 1")
    (folder / ".ipynb_checkpoints").mkdir()
    (folder / ".ipynb_checkpoints/01_problem-checkpoint.ipynb").write_text("{}")
    (folder / "01_problem.ipynb").write_text("{}")
    (folder / "02_gradient_descent.ipynb").touch()
    with open(folder / "02_gradient_descent.ipynb", "wb") as f:
        f.truncate(2**31)  # sparse: never read
    (folder / "timestamp.txt").write_text("2026-12-01 10:00:00")
    (folder / "sketch.png").write_bytes(b"\x89PNG" + b"0" * 100)
    (folder / "huge.png").touch()
    os.truncate(folder / "huge.png", 6 * 2**20)
    (folder / "helper.py").write_text("import os")
    (folder / "link.ipynb").symlink_to(folder / "01_problem.ipynb")
    files = submission_files(folder)
    assert files.notebooks == ["01_problem.ipynb"]
    assert files.too_large == {"02_gradient_descent.ipynb": 2**31}
    assert sorted(files.kept) == ["sketch.png", "timestamp.txt"]
    left = " ".join(files.left_out)
    for name in (".ipython/profile_default/startup/00.py", "helper.py", "huge.png", "link.ipynb (not a regular file)"):
        assert name in left, left
    assert "checkpoint" not in left and "left out, never given to a grading kernel" in files.report()[0]


def test_a_folder_of_many_files_is_cut_short(tmp_path):
    for i in range(MAX_ENTRIES + 5):
        (tmp_path / f"f{i:05d}.txt").touch()
    files = submission_files(tmp_path)
    assert len(files.left_out) == MAX_ENTRIES + 1 and files.left_out[-1].startswith("everything after")


def test_report_lines_carry_no_control_characters():
    line = printable("ok\x1b[2J\x1b[31mred\x1b[0m\r graded bob in 1.0 s\nsecond line\x07" + "x" * 500)
    assert "\x1b" not in line and "\r" not in line and "\n" not in line and "\x07" not in line
    assert line.startswith("ok\\x1b[2Jred") and len(line) == 300


def test_kernel_user_ids_never_collide_between_processes(monkeypatch):
    seen = {}
    for pid in (1, 2, 1000, 51_000, 101_000, 2**22 - 1):
        monkeypatch.setattr(os, "getpid", lambda pid=pid: pid)
        for _ in range(sandbox.UID_SLOTS):
            uid = sandbox._next_uid()
            assert uid not in seen, f"processes {seen.get(uid)} and {pid} share the kernel user id {uid}"
            seen[uid] = pid
    assert max(seen) < 2**31 - 1 and min(seen) >= sandbox.UID_BASE


def test_a_kernel_environment_holds_nothing_of_the_graders(monkeypatch, tmp_path):
    monkeypatch.setenv("NDE_ATTACK_CANARY", "secret")
    monkeypatch.setenv("PGPASSWORD", "secret")
    env = sandbox.kernel_env(str(tmp_path))
    assert "secret" not in json.dumps(env)
    for key in ("HOME", "IPYTHONDIR", "JUPYTER_CONFIG_DIR", "MPLCONFIGDIR", "PYTHONUSERBASE", "XDG_CONFIG_HOME"):
        assert env[key].startswith(str(tmp_path)), key
    assert env["PYTHONNOUSERSITE"] == "1"

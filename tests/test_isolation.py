"""The boundary between the student's code and the grader, part by part.

- the wire format of probes carries numbers and arrays only, never a pickle;
- hidden-test blocks name checks and hold nothing else; every named check exists;
- the harness that goes into a grading kernel holds no answer, and imports nothing of
  the instructor's;
- a grading kernel is given the course's answers of the earlier notebooks only;
- the sandbox: a sandboxed process cannot see the course's files or import the grading
  library, does not run as root, reaches no network, cannot write outside its folder,
  has a memory limit, and leaves no process behind.
"""
from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
import time

import nbformat
import numpy as np
import pytest
from nbgrader.utils import is_solution

from course import ASSIGNMENT, ROOT
from nde_grader.harness import decode, encode, roundtrip
from nde_grader.hidden import checks_in, visible_part
from nde_grader.kernel.sandbox import Sandbox, self_test, unavailable
from nde_grader.probe import HARNESS, bootstrap_code, check_function
from nde_grader.reference_build import earlier_exports

from .conftest import distinctive, notebook_paths

SOURCE = ROOT / "source" / ASSIGNMENT


def test_the_wire_carries_numbers_and_arrays_only():
    sent = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, None, "x", True],
            "c": {"nan": math.nan, "inf": -math.inf}, "d": (np.int64(3), np.bool_(False))}
    got = roundtrip(sent)
    assert got["a"].dtype == np.float32 and got["a"].tolist() == sent["a"].tolist()
    assert got["b"] == [1, 2.5, None, "x", True] and got["d"] == [3, False]
    assert math.isnan(got["c"]["nan"]) and got["c"]["inf"] == -math.inf
    json.dumps(encode(sent), allow_nan=False)  # strict JSON
    with pytest.raises(TypeError):
        encode(np.array([object()]))
    with pytest.raises(TypeError):
        encode(object())
    with pytest.raises(ValueError):
        decode({"__array__": ["object", [1], "AA=="]})


def test_hidden_blocks_name_existing_checks_and_nothing_else():
    named = []
    for path in notebook_paths("source"):
        for cell in nbformat.read(path, as_version=4).cells:
            if "### BEGIN HIDDEN TESTS" in cell.source:
                names = checks_in(cell.source)
                assert names, f"{path.name}, {cell.id}: a hidden block without a check"
                named += names
                for name in names:
                    check_function(name)
                assert "HIDDEN" not in visible_part(cell.source) and "check(" not in visible_part(cell.source)
    assert len(named) == len(set(named)) >= 20
    with pytest.raises(ValueError):
        checks_in('x = 1\n### BEGIN HIDDEN TESTS\nfrom nde_grader.hidden import check\nimport os\ncheck("dv_bound.dv_value")\n'
                  '### END HIDDEN TESTS\n')


def _solution_lines() -> set[str]:
    out = set()
    for path in notebook_paths("source"):
        for cell in nbformat.read(path, as_version=4).cells:
            for block in re.findall(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S):
                out |= {line.strip() for line in block.splitlines() if distinctive(line)}
    return out


def test_the_harness_holds_no_answer_and_imports_nothing_of_the_instructors():
    answers = _solution_lines()
    assert len(answers) > 20
    allowed = {"__future__", "base64", "importlib", "json", "math", "random", "contextlib", "tempfile", "numpy",
               "torch", "nde_student", "IPython"}
    for path in sorted(HARNESS.glob("*.py")):
        source = path.read_text()
        leaked = [line.strip() for line in source.splitlines() if line.strip() in answers]
        assert not leaked, f"{path.name} holds lines of the course's answers: {leaked}"
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                assert node.module.split(".")[0] in allowed, f"{path.name} imports {node.module}"
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] in allowed for a in node.names), f"{path.name} imports {node.names}"
    compile(bootstrap_code(sorted(p.stem for p in HARNESS.glob("*.py") if p.stem != "__init__")), "<b>", "exec")


def test_a_grading_kernel_gets_the_course_answers_of_earlier_notebooks_only():
    for path in notebook_paths("source"):
        given = earlier_exports(SOURCE, path.stem)
        assert sorted(given) == [p.stem for p in notebook_paths("source") if p.stem < path.stem]
        own = set(re.findall(r"^(?:def|class) (\w+)", "".join(
            c.source for c in nbformat.read(path, as_version=4).cells
            if is_solution(c)), re.M))
        for code in given.values():
            defined = set(re.findall(r"^(?:def|class) (\w+)", code, re.M))
            assert not own & defined, f"{path.stem}'s kernel would be given its own answers {own & defined}"
    assert "class Net" in earlier_exports(SOURCE, "05_trainer")["03_network"]


# --- the sandbox ------------------------------------------------------------------------
# Run by root here, and by a normal user (test_the_sandbox_holds_for_a_normal_user runs
# this section again as a user it creates).

needs_sandbox = pytest.mark.skipif(bool(unavailable()), reason=f"no sandbox here: {unavailable()}")


def _sandboxed(box: Sandbox, code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(box.command([sys.executable, "-c", code]), capture_output=True, text=True, timeout=timeout)


@needs_sandbox
def test_the_graders_own_check_passes():
    assert self_test([ROOT / "source", ROOT / "nde_grader", ROOT / ".git", ROOT / "notebooks"]) is None


@needs_sandbox
def test_a_sandboxed_process_sees_nothing_of_the_course():
    box = Sandbox()
    try:
        (box.work / "mine.txt").write_text("the student's file")
        code = f"""
import importlib.util, json, os, socket
found = {{"uid": os.getuid(), "groups": os.getgroups(), "mine": open("mine.txt").read(), "cwd": os.getcwd()}}
found["seen"] = [p for p in {[str(ROOT / 'source'), str(ROOT / 'nde_grader' / 'reference' / '__init__.py'), str(ROOT / 'notebooks'),
                                str(ROOT / 'submitted'), '/root/.bash_history', str(ROOT / '.git'), '/home']!r} if os.path.exists(p) and os.listdir(p) if os.path.isdir(p)]
found["repo"] = sorted(os.listdir({str(ROOT)!r})) if os.path.isdir({str(ROOT)!r}) else []
found["grader"] = importlib.util.find_spec("nde_grader") is not None
found["student"] = importlib.util.find_spec("nde_student") is not None
found["env"] = sorted(os.environ)
found["fds"] = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))
found["pids"] = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
for path in ("/usr/evil", {str(ROOT / 'evil')!r}, {str(sys.prefix + '/evil')!r}):  # read-only, or its own /tmp
    try:
        open(path, "w")
        found.setdefault("wrote", []).append(path)
    except OSError:
        pass
try:
    socket.create_connection(("pypi.org", 443), timeout=3)
    found["net"] = True
except OSError:
    found["net"] = False
print(json.dumps(found))
"""
        done = _sandboxed(box, code)
        assert done.returncode == 0, done.stderr
        found = json.loads(done.stdout)
    finally:
        box.close()
    # a course kept under /tmp shows as folders of the sandbox's own /tmp, which it may write:
    # nothing reaches the machine's
    assert not (ROOT / "evil").exists(), "a sandboxed process wrote into the course's folder"
    wrote = [p for p in found.get("wrote", []) if not (p == str(ROOT / "evil") and str(ROOT).startswith("/tmp/"))]
    assert found["uid"] != 0 and 0 not in found["groups"]
    assert found["mine"] == "the student's file" and found["cwd"] == str(box.work)
    assert found["seen"] == [], f"the sandbox shows {found['seen']}"
    assert set(found["repo"]) <= {".venv", "student"}, f"the repository's folder shows {found['repo']}"
    assert not found["grader"] and found["student"]
    assert not wrote and not found["net"], wrote
    assert set(found["env"]) <= set(box.env()) | {"PWD"}, f"the grader's {set(found['env']) - set(box.env())} reach it"
    assert found["fds"] == [0, 1, 2, 3], f"descriptors {found['fds']} reach the sandbox"  # 3: the listing itself
    assert len(found["pids"]) <= 3, f"the sandbox sees processes {found['pids']} (its own PID namespace has 1-3)"


def _marked(marker: str) -> list[str]:
    """The machine's live processes whose command line holds ``marker``."""
    done = subprocess.run(["ps", "-ww", "-eo", "stat=,args="], capture_output=True, text=True)
    return [line for line in done.stdout.splitlines() if marker in line and not line.strip().startswith("Z")
            and "ps -eo" not in line]


@needs_sandbox
def test_a_sandboxed_kernel_leaves_no_process_behind():
    box = Sandbox()
    marker = f"left-behind-{box.base.name}"
    code = ("import subprocess, sys\n"
            f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}], "
            "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)\nprint(p.pid)\n")
    try:
        done = _sandboxed(box, code)
        assert done.returncode == 0, done.stderr
    finally:
        box.close()
    deadline = time.monotonic() + 10
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _marked(marker), f"a process of the sandbox outlived it: {_marked(marker)}"


@needs_sandbox
def test_a_sandboxed_process_has_a_memory_limit(monkeypatch):
    monkeypatch.setenv("NDE_KERNEL_MEMORY_MB", "1024")
    box = Sandbox()
    try:
        done = _sandboxed(box, "import numpy as np\ntry:\n    np.ones(2**31 // 8 * 2)\n    print('allocated')\n"
                               "except MemoryError:\n    print('MemoryError')\n")
    finally:
        box.close()
    assert done.stdout.strip() == "MemoryError", done.stdout + done.stderr


@needs_sandbox
def test_the_course_stays_hidden_inside_a_visible_folder():
    """A course kept inside a folder the kernel may read (under /usr/local, say) is still
    covered: only its environment and the students' library show through."""
    from nde_grader.kernel.sandbox import visible_paths

    box = Sandbox(visible=[*visible_paths(), str(ROOT.parent)])
    try:
        done = _sandboxed(box, f"import os, json; print(json.dumps(sorted(os.listdir({str(ROOT)!r}))))")
    finally:
        box.close()
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)) <= {".venv", "student"}, done.stdout


# --- kernels forked from the zygote -------------------------------------------------------


def _run(kc, code: str, timeout: float = 60) -> tuple[dict, list]:
    """Execute ``code`` through a blocking kernel client: (the reply, the iopub messages)."""
    msg_id = kc.execute(code)
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    return kc.get_shell_msg(timeout=timeout), messages


def _stdout(messages: list) -> str:
    return "".join(m["content"].get("text", "") for m in messages if m["msg_type"] == "stream")


def _forked_kernel(zygote, box: Sandbox):
    """A kernel manager whose kernel the zygote forks into ``box``, started and ready."""
    from jupyter_client import KernelManager

    from nde_grader.kernel.sandbox import ZYGOTE_CLIENT

    km = KernelManager(transport="ipc", ip=box.ipc_prefix, connection_file=box.connection_file, kernel_name="python3")
    original = km.format_kernel_cmd
    km.format_kernel_cmd = lambda extra_arguments=None: [sys.executable, "-I", "-S", str(ZYGOTE_CLIENT), zygote.path,
                                                         box.write_config(), "--", *original(extra_arguments)]
    km.start_kernel(cwd=str(box.work), env=box.env())
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    return km, kc


@needs_sandbox
def test_a_kernel_forked_from_the_zygote_is_sandboxed_warm_and_interruptible():
    from nde_grader.kernel.warm import Zygote

    zygote = Zygote()
    box = Sandbox(zygote=zygote.path)
    marker = f"forked-left-behind-{box.box.name}"
    km = None
    try:
        km, kc = _forked_kernel(zygote, box)
        reply, messages = _run(kc, "import os, sys, importlib.util, subprocess\n"
                                   "print(os.getuid(), 'torch' in sys.modules, importlib.util.find_spec('nde_grader'),"
                                   " os.path.exists(%r), os.getcwd())" % str(ROOT / "source"))
        uid, warm, grader, seen, cwd = _stdout(messages).split()
        assert uid != "0" and warm == "True" and grader == "None" and seen == "False" and cwd == str(box.work)
        reply, _ = _run(kc, f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', {marker!r}], "
                            "start_new_session=True)")
        assert reply["content"]["status"] == "ok", reply["content"]
        deadline = time.monotonic() + 10
        while not _marked(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _marked(marker)
        msg_id = kc.execute("while True: pass")
        time.sleep(2)
        km.interrupt_kernel()
        while True:
            msg = kc.get_shell_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id:
                break
        assert msg["content"]["status"] == "error" and msg["content"]["ename"] == "KeyboardInterrupt"
        kc.stop_channels()
    finally:
        if km is not None:
            km.shutdown_kernel(now=True)
        box.close()
    deadline = time.monotonic() + 10
    while _marked(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    try:
        assert not _marked(marker), "a process of a kernel forked from the zygote outlived it"
    finally:
        zygote.close()


@needs_sandbox
def test_nothing_of_one_forked_kernel_reaches_the_next_or_the_zygote():
    """Kernels forked one after another from one zygote (two students' notebooks, say): the
    second finds nothing the first left in /tmp, /dev/shm or its home, no process of it,
    no way to trace or read the zygote, and not the zygote's socket."""
    from nde_grader.kernel.warm import Zygote

    zygote = Zygote()
    try:
        first, second = Sandbox(zygote=zygote.path), Sandbox(zygote=zygote.path)
        km, kc = _forked_kernel(zygote, first)
        _run(kc, "import os, subprocess, sys\n"
                 "open('/tmp/planted.py', 'w').write('x = 1')\nopen('/dev/shm/planted', 'w').write('x')\n"
                 "open(os.path.join(os.environ['HOME'], 'planted'), 'w').write('x')\n"
                 "os.makedirs('/tmp/locked/inner')\nos.chmod('/tmp/locked', 0)\n"
                 "subprocess.Popen(['sleep', '600'], start_new_session=True)")
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        first.close()
        km, kc = _forked_kernel(zygote, second)
        _, messages = _run(kc, "import json, os, ctypes\n"
                               "found = {'tmp': os.listdir('/tmp'), 'shm': os.listdir('/dev/shm'), 'home': os.listdir(os.environ['HOME']),"
                               " 'pids': sorted(int(p) for p in os.listdir('/proc') if p.isdigit()), 'zygote': os.getppid(),"
                               " 'socket': os.path.exists(%r), 'first': os.path.exists(%r)}\n"
                               "for what in ('environ', 'mem'):\n"
                               "    try:\n        open(f'/proc/{os.getppid()}/{what}', 'rb').read(1)\n        found[what] = True\n"
                               "    except OSError:\n        found[what] = False\n"
                               "PTRACE_ATTACH = 16\nfound['trace'] = ctypes.CDLL(None).ptrace(PTRACE_ATTACH, os.getppid(), 0, 0) == 0\n"
                               "print(json.dumps(found))" % (zygote.path, str(first.box)))
        found = json.loads(_stdout(messages))
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        second.close()
    finally:
        zygote.close()
    from nde_grader.kernel.sandbox import boxes_of, visible_paths

    shown = [str(boxes_of(zygote.path)), *visible_paths()]  # what is mounted in /tmp, and the way to it
    assert all(any(p.startswith(f"/tmp/{name}") for p in shown) for name in found["tmp"]), f"/tmp holds {found['tmp']}"
    assert found["shm"] == [] and "planted" not in found["home"], found
    assert not found["socket"] and not found["first"]
    assert not found["environ"] and not found["mem"] and not found["trace"], found
    assert set(found["pids"]) <= {1, found["zygote"], max(found["pids"])}, f"processes {found['pids']} remain"

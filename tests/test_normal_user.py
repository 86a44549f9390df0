"""Grading as a normal user: the sandbox's tests and the example class, run by a user this test creates.

An instructor on a laptop, a shared server or an unprivileged pod is not root. Where this
suite runs as root (CI here), this test creates a user without privileges and, as that
user, runs the sandbox's own tests (tests/test_isolation.py's sandbox and zygote part)
and grades the example class (``submitted/``: solutions, untouched, wrong) in a copy of
the course with the sandbox on. Where the suite runs as a normal user already, every
sandboxed test of it is this test, and it is skipped.

The machine's Python may lie in a folder that only root may enter (a pyenv under /root,
as here): the user is then shown that installation alone, read-only, in a mount namespace
of this test's own (util-linux's unshare), as a shared installation (/usr, /opt) would
be. Nothing else of root's is shown.
"""
from __future__ import annotations

import os
import pwd
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from course import ASSIGNMENT, ROOT, course_skeleton
from nde_grader.kernel.sandbox import unavailable

pytestmark = pytest.mark.slow
USER = "nde-instructor"

if os.geteuid() != 0:
    pytest.skip("this suite runs as a normal user: every sandboxed test of it grades as one", allow_module_level=True)
if unavailable():
    pytest.skip(f"grading needs its sandbox: {unavailable()}", allow_module_level=True)


def _user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", USER], check=True)
        return pwd.getpwnam(USER)


def _closed_ancestor(path: Path, uid: int, gid: int) -> Path | None:
    """The highest folder above ``path`` that the user cannot pass through, if any."""
    for parent in reversed(path.parents):
        info = parent.stat()
        mode = info.st_mode
        can = (mode & 0o001) or (info.st_uid == uid and mode & 0o100) or (info.st_gid == gid and mode & 0o010)
        if not can:
            return parent
    return None


def _as_user(user: pwd.struct_passwd, home: Path, command: str, timeout: int) -> subprocess.CompletedProcess:
    """Run ``command`` (a shell line) as ``user``, with this Python reachable."""
    python = Path(os.path.realpath(sys.base_prefix))
    closed = _closed_ancestor(python, user.pw_uid, user.pw_gid)
    steps = []
    if closed is not None:
        stash = home.parent / "python"
        stash.mkdir(exist_ok=True)
        steps = [f"mount --bind {python} {stash}", f"mount -t tmpfs -o mode=755,size=1m tmpfs {closed}",
                 f"mkdir -p {python}", f"mount --bind -o ro {stash} {python}"]
    env = {"HOME": str(home), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
    setenv = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    steps.append(f"exec setpriv --reuid={user.pw_uid} --regid={user.pw_gid} --init-groups -- "
                 f"env -i {setenv} sh -c {shlex.quote(f'cd {home} && {command}')}")
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", "; ".join(steps)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def user_home():
    user = _user()
    top = Path(tempfile.mkdtemp(prefix="nde-normal-user-"))
    top.chmod(0o755)
    home = top / "home"
    home.mkdir()
    os.chown(home, user.pw_uid, user.pw_gid)
    yield user, home
    shutil.rmtree(top, ignore_errors=True)


def test_the_sandbox_holds_for_a_normal_user(user_home):
    user, home = user_home
    done = _as_user(user, home, f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider -o addopts='' "
                                f"{ROOT / 'tests' / 'test_isolation.py'} -k 'sandbox or zygote or course_stays or kernel'",
                    timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert re.search(r"\b[5-9] passed\b", done.stdout) and "skipped" not in done.stdout, done.stdout[-2000:]


def test_a_normal_user_grades_the_example_class_in_the_sandbox(user_home):
    user, home = user_home
    course = home / "example-class"  # not "course": the instructor's package of that name is imported here
    course_skeleton(course, students=("solutions", "untouched", "wrong"))
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(course)], check=True)
    code = (f"import sys; from course.grade import main; from pathlib import Path; "
            f"sys.exit(main(course=Path({str(course)!r}), workers=2))")
    done = _as_user(user, home, f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}", timeout=1500)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]
    assert "without the sandbox" not in done.stdout + done.stderr
    graded = course / "autograded"
    assert graded.is_dir() and graded.stat().st_uid == user.pw_uid
    scores = {}
    for line in done.stdout.splitlines():
        student = re.match(r"(solutions|untouched|wrong)\s", line)
        totals = re.findall(r"(\d+(?:\.\d+)?)/(\d+(?:\.\d+)?)", line)
        if student and totals:
            scores[student[1]] = tuple(map(float, totals[-1]))  # the row's last column: the total
    assert set(scores) == {"solutions", "untouched", "wrong"}, done.stdout[-3000:]
    assert scores["solutions"][0] == scores["solutions"][1] > 0, scores
    assert scores["untouched"][0] == 0 and 0 < scores["wrong"][0] < scores["wrong"][1], scores
    assert (course / "submitted" / "solutions" / ASSIGNMENT).is_dir()

"""The grading sandbox: every grading kernel in a file system of its own, as a user of its own.

``Sandbox`` prepares one kernel's scratch folder and the command that starts the kernel
inside the sandbox (``sandbox_exec.py`` does the work, as root, then becomes the kernel).
What the kernel sees:

- read-only: the system's programs and libraries (/usr, /bin, /lib*, /sbin, /etc, /sys),
  the Python installation, the course's environment and the students' library;
- read-write: its scratch folder (its working folder: the student's notebooks, nothing
  else of theirs), a home folder of its own that the grader makes empty (so that no file
  of the submission configures IPython, Jupyter, matplotlib or Python's user site), an
  empty /tmp and /dev/shm;
- nothing else: not the course repository (answers, checks, source notebooks), not the
  gradebook, not other students' files, not /root or /home, no network.

It runs as a user id of its own (no name, no groups; unique among the live grading
processes of the machine by construction, see ``_next_uid``), with no way to gain
privileges, and with limits on memory, file size and processes; its environment holds
only what a kernel needs (``Sandbox.env``), and its output goes to a file of its own
(``Sandbox.output_file``), never to the grader's log. After the kernel, every process of
that user id is killed and the scratch folder removed.

This needs Linux and root (to create namespaces and switch users). ``unavailable()``
says why a machine cannot do it; ``python -m course grade`` then refuses to start
unless told ``--no-sandbox`` (docs/grader.md).
"""
from __future__ import annotations

import glob
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

EXEC = Path(__file__).with_name("sandbox_exec.py")
REPOSITORY = Path(__file__).resolve().parent.parent
"""The course's repository: never shown to a kernel, but for its environment and the students' library."""
SYSTEM = ["/usr", "/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/etc", "/sys"]
"""Read-only in every sandbox: programs, libraries, configuration, devices' descriptions."""

KEEP_ENV = ("MPLBACKEND", "NDE_HEADLESS", "NBGRADER_EXECUTION", "PYTHONWARNINGS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "TZ", "LANG", "LC_ALL")
"""The grader's variables a kernel keeps; every other one is left out (``Sandbox.env``)."""
UID_BASE = 1_900_000
"""Kernels run as user ids UID_BASE + pid * UID_SLOTS + k: high, so that no account of the machine has them."""
UID_SLOTS = 64
"""Sandboxes one process may hold at once (a grading process holds one per kernel it runs: one at a time)."""
MAX_NOTEBOOK_BYTES = 50 * 2**20
"""The largest notebook file a kernel is given."""

_counter = itertools.count()
_lock = threading.Lock()


def memory_limit() -> int | None:
    """Bytes of address space a grading kernel may use (``NDE_KERNEL_MEMORY_MB``, default
    8192; 0: no limit). No limit where a GPU is visible: CUDA reserves far more address
    space than it uses."""
    mb = int(os.environ.get("NDE_KERNEL_MEMORY_MB", 8192))
    if mb <= 0 or glob.glob("/dev/nvidia[0-9]*"):
        return None
    return mb * 2**20


def visible_paths() -> list[str]:
    """What a kernel may read: the system, this Python, the course's environment, the students' library."""
    import nde_student

    paths = list(SYSTEM)
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        paths += [prefix, os.path.realpath(prefix)]
    paths.append(str(Path(nde_student.__file__).resolve().parent))
    return sorted({p for p in paths if os.path.exists(p)})


def unavailable() -> str | None:
    """Why this machine cannot run sandboxed kernels, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the grading sandbox needs root, to create namespaces and run kernels as a user of their own"
    return None


def _next_uid() -> int:
    """A user id that no other live sandbox of this machine has: process ids are unique
    among live processes and below 2**22 (the kernel's PID_MAX_LIMIT), so each process
    has UID_SLOTS ids of its own (1.9 M to 270 M, within uid_t); a process cycles through
    its slots, and never holds more than a few sandboxes at once."""
    with _lock:
        return UID_BASE + os.getpid() * UID_SLOTS + next(_counter) % UID_SLOTS


def copy_font_cache(home: Path, uid: int | None = None) -> None:
    """Give a kernel's (or the zygote's) matplotlib the grader's font list, which it would
    otherwise rebuild (seconds), in ``home``'s matplotlib folder; owned by ``uid``."""
    try:
        import matplotlib

        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
    except Exception:  # noqa: BLE001 (only a speed-up)
        return
    target = home / ".config" / "matplotlib"
    target.mkdir(parents=True, exist_ok=True)
    for path in found[-1:]:
        shutil.copyfile(path, target / path.name)
    if uid is not None and os.geteuid() == 0:
        for path in (home / ".config", target, *target.iterdir()):
            os.lchown(path, uid, uid)


def kernel_env(home: str) -> dict[str, str]:
    """A kernel's environment with ``home`` as its home: the grader's KEEP_ENV variables and
    nothing else of the grader's; IPython's, Jupyter's and matplotlib's folders, the XDG
    folders and Python's user site all in ``home`` (the user site off), so that what
    configures the kernel is the grader's choice."""
    env = {k: os.environ[k] for k in KEEP_ENV if k in os.environ}
    env.update(
        HOME=home, USER="student", LOGNAME="student", TMPDIR="/tmp", JUPYTER_PLATFORM_DIRS="1",
        PATH=os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        IPYTHONDIR=f"{home}/.ipython", JUPYTER_CONFIG_DIR=f"{home}/.jupyter", JUPYTER_DATA_DIR=f"{home}/.local/share/jupyter",
        JUPYTER_RUNTIME_DIR=f"{home}/.local/share/jupyter/runtime", XDG_CONFIG_HOME=f"{home}/.config",
        XDG_CACHE_HOME=f"{home}/.cache", XDG_DATA_HOME=f"{home}/.local/share", MPLCONFIGDIR=f"{home}/.config/matplotlib",
        PYTHONUSERBASE=f"{home}/.local", PYTHONNOUSERSITE="1", PYTHONDONTWRITEBYTECODE="1",
    )
    env.setdefault("LANG", "C.UTF-8")
    return env


@dataclass
class Sandbox:
    """One kernel's sandbox: its scratch folder and the command that starts it."""

    parent: str | None = None
    visible: list[str] | None = None  # what it may read besides its folder (default: visible_paths())
    hide: list[str] = field(default_factory=list)  # never shown, even inside a visible path (the course)
    uid: int = field(default_factory=_next_uid)
    base: Path = field(init=False)

    def __post_init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="nde-k", dir=self.parent))
        (self.base / "root").mkdir()  # the new root is built on this empty folder
        self.work.mkdir()
        (self.work / ".kernel").mkdir()
        self.home.mkdir()
        self._give(self.work, self.work / ".kernel", self.home)

    def _give(self, *paths: Path) -> None:
        """Make ``paths`` the kernel's (when the grader can: as root)."""
        if os.geteuid() == 0:
            for path in paths:
                os.lchown(path, self.uid, self.uid)

    @property
    def work(self) -> Path:
        """The kernel's working folder: the student's notebooks go here."""
        return self.base / "work"

    @property
    def home(self) -> Path:
        """The kernel's home: an empty folder of the grader's, outside the student's files."""
        return self.base / "home"

    @property
    def output_file(self) -> Path:
        """Where the kernel's standard output and error go (outside what the kernel sees)."""
        return self.base / "kernel-output.log"

    def output_tail(self, size: int = 2000) -> str:
        """The last ``size`` bytes of the kernel's own output (why a kernel did not start)."""
        try:
            with open(self.output_file, "rb") as f:
                f.seek(max(0, os.path.getsize(self.output_file) - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    @property
    def connection_file(self) -> str:
        return str(self.work / ".kernel" / "connection.json")

    @property
    def ipc_prefix(self) -> str:
        return str(self.work / ".kernel" / "ipc")

    def add_notebooks(self, folder: Path, names: set[str]) -> None:
        """Copy the notebooks ``names`` of a student's folder into the working folder: regular
        files (no links) of at most MAX_NOTEBOOK_BYTES; no other file of the student's."""
        for name in sorted(names):
            path = folder / name
            if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_NOTEBOOK_BYTES:
                continue
            shutil.copyfile(path, self.work / name)
            self._give(self.work / name)

    def env(self) -> dict[str, str]:
        """The kernel's whole environment: the grader's KEEP_ENV, and every folder that
        configures IPython, Jupyter, matplotlib or Python's user site in the kernel's home."""
        return kernel_env(str(self.home))

    def _cache_matplotlib(self) -> None:
        copy_font_cache(self.home, self.uid)

    def command(self, argv: list[str]) -> list[str]:
        """The command that starts ``argv`` (a kernel) inside this sandbox."""
        return [sys.executable, "-I", "-S", str(EXEC), self.write_config(), "--", *argv]

    def write_config(self) -> str:
        """Write the sandbox's configuration for sandbox_exec.py (root-only; it deletes it)."""
        self._cache_matplotlib()
        limits = {"nproc": 512, "fsize": 2**30, "core": 0}
        memory = memory_limit()
        if memory:
            limits["as"] = memory
        config = {
            "root": str(self.base / "root"), "scratch": str(self.work), "writable": [str(self.home)],
            "uid": self.uid, "gid": self.uid,
            "read_only": self.visible if self.visible is not None else visible_paths(), "devices": sorted(glob.glob("/dev/nvidia*")), "env": self.env(),
            "limits": limits, "hide": sorted({*self.hide, str(REPOSITORY)}),
        }
        path = self.base / "sandbox.json"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return str(path)

    def close(self) -> None:
        """Kill whatever the kernel left running, and remove the scratch folder."""
        kill_user(self.uid)
        shutil.rmtree(self.base, ignore_errors=True)


ZYGOTE = Path(__file__).with_name("zygote.py")
ZYGOTE_CLIENT = Path(__file__).with_name("zygote_client.py")


class Zygote:
    """A zygote (zygote.py) of this process: started on first use, stopped with the process.

    ``NDE_ZYGOTE_SOCKET`` names one started elsewhere (by a Dask worker, for all the
    students it grades); ``NDE_ZYGOTE=0`` turns zygotes off (every kernel then starts
    from scratch, as in a plain Jupyter)."""

    _mine: "Zygote | None" = None

    def __init__(self):
        import atexit
        import select

        folder = tempfile.mkdtemp(prefix="nde-zygote-")
        self.path = os.path.join(folder, "socket")
        # a kernel forked from the zygote inherits what the zygote was started with (its
        # /proc/self/environ): a kernel's environment, never the grader's
        home = Path(folder) / "home"
        copy_font_cache(home)
        env = kernel_env(str(home))
        self.process = subprocess.Popen(
            [sys.executable, "-I", str(ZYGOTE), self.path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, env=env, cwd=folder, start_new_session=True,
        )
        ready, _, _ = select.select([self.process.stdout], [], [], 180)
        if not ready or self.process.stdout.readline().strip() != b"ready":
            self.close()
            raise RuntimeError("the kernel zygote did not start")
        atexit.register(self.close)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(os.path.dirname(self.path), ignore_errors=True)

    @classmethod
    def socket(cls) -> str | None:
        """The socket of the zygote to use, starting one if needed; None when zygotes are off."""
        if os.environ.get("NDE_ZYGOTE") == "0":
            return None
        given = os.environ.get("NDE_ZYGOTE_SOCKET")
        if given and os.path.exists(given):
            return given
        with _lock:
            if cls._mine is None or not cls._mine.alive():
                cls._mine = Zygote()
            return cls._mine.path


def kill_user(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a sandboxed kernel's children that outlived it)."""
    code = f"import os; os.setgroups([]); os.setresgid({uid}, {uid}, {uid}); os.setresuid({uid}, {uid}, {uid}); os.kill(-1, 9)"
    subprocess.run([sys.executable, "-I", "-S", "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=30)


# What a sandboxed process must not be able to do; run by ``self_test``.
_PROBE = r"""
import importlib.util, json, os, socket, sys
found = {}
found["uid"] = os.getuid()
found["importable"] = [m for m in ("nde_grader", "course") if importlib.util.find_spec(m) is not None]
found["student_library"] = importlib.util.find_spec("nde_student") is not None
found["readable"] = [p for p in sys.argv[2:] if os.path.exists(p)]
try:  # the grader listens on this port of the machine's loopback
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
    found["network"] = True
except OSError:
    found["network"] = False
print(json.dumps(found))
"""


def self_test(hidden: list[Path]) -> str | None:
    """Start a sandboxed Python and check what it can reach; None when all is as it should be,
    else what is wrong (the grader then refuses to grade)."""
    why = unavailable()
    if why:
        return why
    import socket

    box = Sandbox()
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        argv = box.command([sys.executable, "-c", _PROBE, str(port), *map(str, hidden)])
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if done.returncode:
            return f"a sandboxed process could not start: {(done.stderr or done.stdout).strip()[-400:]}"
        found = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, ValueError, subprocess.SubprocessError) as exc:
        return f"a sandboxed process could not start: {exc}"
    finally:
        listener.close()
        box.close()
    problems = []
    if found["uid"] == 0:
        problems.append("it runs as root")
    if found["importable"]:
        problems.append(f"it can import the instructor's packages {found['importable']} (installed in the kernel's "
                        "environment: install them in editable mode from the course repository)")
    if not found["student_library"]:
        problems.append("it cannot import the students' library nde_student")
    if found["readable"]:
        problems.append(f"it can see {found['readable']}")
    if found["network"]:
        problems.append("it reaches the machine's network")
    return "; ".join(problems) or None

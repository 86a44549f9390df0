"""The grading sandbox: every grading kernel in bubblewrap, in a file system of its own.

Bubblewrap (``bwrap``, Debian's ``bubblewrap``: the sandbox Flatpak uses) builds the
sandbox; this module says what goes in it. It works for root and for normal users alike,
wherever the kernel lets a user create namespaces. What a kernel sees:

- read-only: the system's programs and libraries (/usr, /bin, /lib*, /sbin, /etc, /sys),
  the Python installation, the course's environment and the students' library;
- read-write: its scratch folder (its working folder: the student's notebooks, nothing
  else of theirs), a home folder of its own that the grader makes empty (so that no file
  of the submission configures IPython, Jupyter, matplotlib or Python's user site), an
  empty /tmp and /dev/shm;
- nothing else: not the course repository (answers, checks, source notebooks), not the
  gradebook, not other students' files, not /root or /home, no network.

It runs in new user, mount, PID, network, IPC and host-name namespaces (``--unshare-all``),
with none of the grader's descriptors, an environment that holds only what a kernel needs
(``kernel_env``), no capabilities and no way to gain privileges, limits on memory, file
size and processes (``limits``), and dies with the grader. When the grader runs as root,
the sandbox runs as a user id of its own (``_next_uid``; util-linux's ``setpriv`` drops
root inside, once bubblewrap has built the file system); for a normal user it runs as
that user, in a user namespace of its own, and reaches nothing outside the sandbox's file
system and PID namespace.

Two ways to start a kernel:

- ``Sandbox.command``: one bubblewrap per kernel (``NDE_ZYGOTE=0``, the grader's
  self-check, the bundle's test);
- ``Zygote`` (``warm.py``): one bubblewrap per grading thread, holding ``zygote.py``, which has
  imported the heavy modules once and forks a kernel per notebook, one at a time; each
  kernel gets a scratch folder and home of its own (``Sandbox(zygote=...)``), and before
  the next one starts the zygote kills whatever the last one left running and empties
  /tmp and /dev/shm.

``unavailable()`` says why a machine cannot do this; ``python -m course grade`` then
refuses to start unless told ``--no-sandbox`` (docs/grader.md).
"""
from __future__ import annotations

import functools
import glob
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
"""The course's repository: never shown to a kernel, but for its environment and the students' library."""
SYSTEM = ["/usr", "/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/etc", "/sys"]
"""Read-only in every sandbox: programs, libraries, configuration, devices' descriptions."""
ZYGOTE = Path(__file__).with_name("zygote.py")
ZYGOTE_CLIENT = Path(__file__).with_name("zygote_client.py")
ZYGOTE_INSIDE = "/run/nde-zygote.py"
"""Where the zygote's program is shown inside its sandbox (the file alone, not its package)."""

KEEP_ENV = ("MPLBACKEND", "NDE_HEADLESS", "NBGRADER_EXECUTION", "PYTHONWARNINGS", "OMP_NUM_THREADS",
            "MKL_NUM_THREADS", "CUDA_VISIBLE_DEVICES", "NVIDIA_VISIBLE_DEVICES", "TZ", "LANG", "LC_ALL")
"""The grader's variables a kernel keeps; every other one is left out (``kernel_env``)."""
UID_BASE = 1_900_000
"""Under root, sandboxes run as user ids UID_BASE + pid * UID_SLOTS + k: high, so that no account of the machine has them."""
UID_SLOTS = 64
"""Sandboxes one process may hold at once."""
MAX_NOTEBOOK_BYTES = 50 * 2**20
"""The largest notebook file a kernel is given."""
TMP_BYTES, SHM_BYTES = 512 * 2**20, 256 * 2**20
"""The sizes of a sandbox's /tmp and /dev/shm."""

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


def limits() -> dict[str, int]:
    """A kernel's resource limits, {name: value} for resource.RLIMIT_<NAME>: processes (of
    the sandbox's own user, counted in its own user namespace), file size, no core
    files, address space (``memory_limit``)."""
    found = {"nproc": 512, "fsize": 2**30, "core": 0}
    memory = memory_limit()
    if memory:
        found["as"] = memory
    return found


def visible_paths() -> list[str]:
    """What a kernel may read: the system, this Python, the course's environment, the students' library."""
    import nde_student

    paths = list(SYSTEM)
    for prefix in (sys.base_prefix, sys.prefix, sys.exec_prefix):
        paths += [prefix, os.path.realpath(prefix)]
    paths.append(str(Path(nde_student.__file__).resolve().parent))
    return sorted({p for p in paths if os.path.exists(p)})


def _next_uid() -> int:
    """A user id that no other live sandbox of this machine has: process ids are unique
    among live processes and below 2**22 (the kernel's PID_MAX_LIMIT), so each process
    has UID_SLOTS ids of its own (1.9 M to 270 M, within uid_t); a process cycles through
    its slots, and never holds more than a few sandboxes at once."""
    with _lock:
        return UID_BASE + os.getpid() * UID_SLOTS + next(_counter) % UID_SLOTS


def bwrap_args(writable: list[str], visible: list[str] | None = None, hide: list[str] = (),
               files: dict[str, str] | None = None, cwd: str | None = None, uid: int | None = None,
               env: dict[str, str] | None = None) -> list[str]:
    """Bubblewrap's command line, up to and including what drops root: the system and
    ``visible`` (default: ``visible_paths()``) read-only, ``hide`` covered by an empty
    folder wherever it lies inside a visible path (with what must stay visible inside it
    shown again), ``writable`` read-write, ``files`` ({outside: inside}) single files
    read-only, fresh /proc, /dev, /tmp and /dev/shm, the GPUs' devices, no network;
    ``env`` the whole environment inside, whatever the caller's.

    A normal user's bubblewrap runs in a user namespace of its own, as that user. Root's
    builds the same namespaces but the user's (root needs none, and reads what a normal
    user cannot: a Python installed under /root), then util-linux's setpriv becomes
    ``uid`` inside (no groups, no capabilities, no new privileges) before the command."""
    root = os.geteuid() == 0
    args = [shutil.which("bwrap") or "bwrap"]
    if root:
        args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
                 "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    else:
        args += ["--unshare-all"]
    args += ["--die-with-parent", "--hostname", "grading", "--proc", "/proc", "--dev", "/dev",
             "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp",
             "--perms", "1777", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm"]
    for device in sorted(glob.glob("/dev/nvidia*")):
        args += ["--dev-bind", device, device]
    # parents before children, so that a path inside another one is shown on top of it;
    # /tmp, /dev and /proc are mounted first (a course environment may lie under /tmp)
    shown = sorted(set(visible if visible is not None else visible_paths()))
    hidden = [h for h in hide if any(h.startswith(p.rstrip("/") + "/") for p in shown)]
    bound: set[str] = set()  # folders shown from the machine: what lies inside them exists
    covered: set[str] = set()  # hidden folders, covered by an empty one: nothing inside them exists
    made = {"/", "/tmp", "/dev", "/proc", "/dev/shm"}

    def parents(path: str) -> list[str]:
        """Make the folders above ``path`` that nothing shown provides, open to pass through
        (bubblewrap would make them 0700, closed to the sandbox's own user)."""
        found = []
        for parent in reversed(Path(path).parents):
            name = str(parent)
            under = [m for m in bound | covered if name == m or name.startswith(m.rstrip("/") + "/")]
            if name in made or (under and max(under, key=len) in bound):
                continue
            found += ["--perms", "0755", "--dir", name]
            made.add(name)
        return found

    steps = [(p, "show") for p in shown] + [(h, "hide") for h in hidden]
    for path, what in sorted(steps, key=lambda step: (step[0].count("/"), step[1] == "show", step[0])):
        if what == "hide":
            if os.path.isdir(path):
                args += ["--perms", "0555", "--tmpfs", path]
                made.add(path)
                covered.add(path)
        elif os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-/usr systems
            args += ["--symlink", os.readlink(path), path]
        elif os.path.exists(path):
            args += [*parents(path), "--ro-bind", path, path]
            bound.add(path)
    for outside, inside in (files or {}).items():
        args += [*parents(inside), "--ro-bind", outside, inside]
    for path in writable:
        args += [*parents(path), "--bind", path, path]
        bound.add(path)
    args += ["--remount-ro", "/"]  # the folders made above too: nothing but the writable ones and /tmp takes a file
    if cwd:
        args += ["--chdir", cwd]
    if env is not None:
        args.append("--clearenv")
        for name, value in sorted(env.items()):
            args += ["--setenv", name, value]
    args.append("--")
    if root:
        if uid is None:
            raise ValueError("a sandbox started by root needs a user id of its own")
        args += ["/usr/bin/setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                 "--no-new-privs", "--"]
    return args


@functools.cache
def unavailable() -> str | None:
    """Why this machine cannot run sandboxed kernels, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (this is {sys.platform})"
    if not shutil.which("bwrap"):
        return ("the grading sandbox needs bubblewrap (bwrap), which is not installed: `make setup` installs "
                "Debian's bubblewrap (or: apt-get install bubblewrap)")
    if os.geteuid() == 0 and not os.path.exists("/usr/bin/setpriv"):
        return "grading as root needs util-linux's setpriv (/usr/bin/setpriv), to run the sandbox as a user of its own"
    with tempfile.TemporaryDirectory(prefix="nde-check-") as folder:
        os.chmod(folder, 0o777)
        argv = [*bwrap_args([folder], visible=list(SYSTEM), uid=_next_uid()), "/bin/true"]
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            return f"bubblewrap could not run: {exc}"
    if done.returncode:
        return (f"bubblewrap cannot create the sandbox's namespaces here ({done.stderr.strip()[-300:]}): allow "
                "unprivileged user namespaces (sysctl user.max_user_namespaces > 0, and where the system has them, "
                "kernel.unprivileged_userns_clone=1 or an AppArmor profile that lets bwrap use them; in a "
                "container, a seccomp profile that allows unshare and clone with namespaces)")
    return None


def copy_font_cache(home: Path) -> None:
    """Give a kernel's (or the zygote's) matplotlib the grader's font list, which it would
    otherwise rebuild (seconds), in ``home``'s matplotlib folder."""
    try:
        import matplotlib

        found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
    except Exception:  # noqa: BLE001 (only a speed-up)
        return
    target = home / ".config" / "matplotlib"
    target.mkdir(parents=True, exist_ok=True)
    for path in found[-1:]:
        shutil.copyfile(path, target / path.name)


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


def _give(uid: int | None, *paths: Path) -> None:
    """Make ``paths`` (and what is in them) the sandbox user's, when the grader is root."""
    if uid is None or os.geteuid() != 0:
        return
    for top in paths:
        os.lchown(top, uid, uid)
        if top.is_dir() and not top.is_symlink():
            for dirpath, dirnames, filenames in os.walk(top):
                for name in dirnames + filenames:
                    os.lchown(os.path.join(dirpath, name), uid, uid)


def remove(path: Path) -> None:
    """Remove a folder a kernel wrote in, whatever it did to its permissions (zygote.remove)."""
    from .zygote import remove as remove_tree

    remove_tree(str(path))


def boxes_of(socket_path: str) -> Path:
    """The folder of boxes of the zygote whose socket is ``socket_path`` (kernel/warm.py)."""
    return Path(socket_path).parent / "boxes"


@dataclass
class Sandbox:
    """One kernel's sandbox: its scratch folder and home (``box``, the part the kernel
    sees), its output file and configuration (the grader's, outside it), and how it starts.

    With ``zygote`` (a socket of ``Zygote``), the box lies in the zygote's folder of boxes
    and the kernel is forked there; without, ``command`` starts a bubblewrap of its own."""

    parent: str | None = None
    visible: list[str] | None = None  # what it may read besides its folder (default: visible_paths())
    hide: list[str] = field(default_factory=list)  # never shown, even inside a visible path (the course)
    zygote: str | None = None
    uid: int | None = field(default=None)
    base: Path = field(init=False)
    box: Path = field(init=False)

    def __post_init__(self):
        self.base = Path(tempfile.mkdtemp(prefix="nde-k", dir=self.parent))
        self.base.chmod(0o711)  # the sandbox's user may pass through to its box, not list what is here
        if self.zygote:
            boxes = boxes_of(self.zygote)
            self.box = Path(tempfile.mkdtemp(prefix="k", dir=boxes))
            self.uid = boxes.stat().st_uid if os.geteuid() == 0 else None
        else:
            self.box = self.base / "box"
            self.box.mkdir()
            if self.uid is None and os.geteuid() == 0:
                self.uid = _next_uid()
        self.work.mkdir()
        (self.work / ".kernel").mkdir()
        self.home.mkdir()
        copy_font_cache(self.home)
        _give(self.uid, self.box)

    @property
    def work(self) -> Path:
        """The kernel's working folder: the student's notebooks go here."""
        return self.box / "work"

    @property
    def home(self) -> Path:
        """The kernel's home: an empty folder of the grader's, outside the student's files."""
        return self.box / "home"

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
            _give(self.uid, self.work / name)

    def env(self) -> dict[str, str]:
        """The kernel's whole environment: the grader's KEEP_ENV, and every folder that
        configures IPython, Jupyter, matplotlib or Python's user site in the kernel's home."""
        return kernel_env(str(self.home))

    def command(self, argv: list[str]) -> list[str]:
        """The command that starts ``argv`` (a kernel) in a bubblewrap of its own, with
        ``env()`` as its whole environment, under ``limits()`` (util-linux's prlimit,
        inside the sandbox)."""
        _give(self.uid, self.box)  # what the grader put there since (the kernel's connection file) is the kernel's
        bounds = [f"--{name}={value}" for name, value in limits().items()]
        hide = sorted({*self.hide, str(REPOSITORY)})
        return [*bwrap_args([str(self.box)], self.visible, hide, cwd=str(self.work), uid=self.uid, env=self.env()),
                "/usr/bin/prlimit", *bounds, "--", *argv]

    def write_config(self) -> str:
        """Write what the zygote needs to start this kernel (its folder, environment and
        limits), for zygote_client.py, in the grader's part of the sandbox's folder."""
        _give(self.uid, self.box)  # what the grader put there since (the kernel's connection file) is the kernel's
        config = {"cwd": str(self.work), "env": self.env(), "limits": limits()}
        path = self.base / "kernel.json"
        path.write_text(json.dumps(config))
        path.chmod(0o600)
        return str(path)

    def close(self) -> None:
        """Remove the scratch folder (the kernel's processes die with its namespace, or the
        zygote kills them before the next kernel)."""
        remove(self.box)
        remove(self.base)


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
    box = Sandbox()
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        argv = box.command([sys.executable, "-c", _PROBE, str(port), *map(str, hidden)])
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, env=box.env())
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

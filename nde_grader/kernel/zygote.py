"""Pre-warmed grading kernels: a process that imports the heavy modules once and forks a kernel per notebook.

    python -I zygote.py --sandboxed FD     inside the grading sandbox (bubblewrap, warm.Zygote)
    python -I zygote.py --plain FD         without it (python -m course grade --no-sandbox)

Starting a kernel and importing PyTorch, NumPy, pandas, matplotlib and seaborn costs a
few seconds of CPU, for every notebook graded. The zygote pays it once: it imports them,
then accepts requests on the listening Unix socket it was given (descriptor FD; the
socket's file lies outside the sandbox, where only the grader reaches it). For each
kernel asked for, it forks; the child takes the kernel's folder, environment and limits
and runs ipykernel in the state the zygote left it, modules already loaded. It sends the
child's pidfd back, through which the stand-in (``zygote_client.py``) signals it and
sees it end. Each child is one kernel, used for one notebook; one runs at a time.

Inside the sandbox, before each kernel and after it, the zygote kills every other process
of its sandbox (what the last kernel left running) and empties /tmp and /dev/shm (but
what is mounted there: the grader's folder of the kernels' boxes, whose old boxes the
grader removes, and an environment kept under /tmp), so that
nothing of one notebook reaches the next; it is not dumpable, so a kernel cannot trace
it. Nothing of the grading library is imported here: this file is shown alone in the
sandbox, and needs only the standard library and what the notebooks import.

When the stand-in's connection closes (the grader stopped the kernel), the zygote kills
the kernel; when the zygote dies, its sandbox and every kernel in it die too.
"""
import ctypes
import importlib
import json
import os
import resource
import select
import shutil
import signal
import socket
import stat
import sys
import time

WARM = ("numpy", "torch", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "torch.utils.tensorboard",
        "tqdm.auto", "ipykernel.kernelapp", "nde_student")
"""What the course's notebooks import: loaded once, here."""
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4
SCRATCH = ("/tmp", "/dev/shm")
"""Emptied between kernels (inside the sandbox: they are its own)."""

_libc = ctypes.CDLL(None, use_errno=True)


def die_with_parent() -> None:
    """Be killed (SIGKILL) when the process that started this one dies. The grader's nbgrader
    children use it too (course/autograde.py); zygote_client.py, which may import nothing of
    the course, makes the same call itself."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _kernel(request: dict, sandboxed: bool) -> None:
    """In the forked child: become the kernel, then run ipykernel. Never returns."""
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if sandboxed:
            _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # its own processes may read its /proc, as in any kernel
            for name, value in request.get("limits", {}).items():
                resource.setrlimit(getattr(resource, f"RLIMIT_{name.upper()}"), (value, value))
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request.get("env", {}))
        import random

        import numpy
        import torch

        random.seed()  # the zygote's generator states are every kernel's: start from fresh entropy
        numpy.random.seed()
        torch.seed()
        env = request.get("env", {})
        if "matplotlib" in sys.modules and env.get("MPLBACKEND"):
            sys.modules["matplotlib"].rcParams["backend"] = env["MPLBACKEND"]  # read at import, in the zygote
        argv = request["argv"]
        start = argv.index("ipykernel_launcher") if "ipykernel_launcher" in argv else 0
        sys.argv = ["ipykernel_launcher", *argv[start + 1:]]
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as exc:
        os._exit(exc.code if isinstance(exc.code, int) else 1)
    except BaseException as exc:  # noqa: BLE001 (a child must never return into the zygote's loop)
        try:
            sys.stderr.write(f"grading kernel: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()
        finally:
            os._exit(70)
    os._exit(0)


def _others() -> list[int]:
    """The sandbox's live processes but its init (bubblewrap, pid 1) and this one."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, os.getpid()):
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":  # a zombie is dead already
                    found.append(int(name))
        except (OSError, IndexError):
            pass
    return found


def _sweep() -> None:
    """Kill every other process of the sandbox (until none is left: a process may fork
    while it dies), reap them, and empty /tmp and /dev/shm (``_empty``)."""
    for _ in range(100):
        if not _others():
            break
        try:
            os.kill(-1, signal.SIGKILL)  # every process this one may signal: the sandbox's, but its init
        except ProcessLookupError:
            pass
        _reap(block=True)
        time.sleep(0.01)
    for top in SCRATCH:
        try:
            _empty(top, os.lstat(top).st_dev)
        except OSError:
            pass


def _empty(folder: str, device: int) -> None:
    """Remove what ``folder`` holds on its own file system (``device``), whatever a kernel
    did to its permissions; what is mounted there is shown from the machine (the
    environment, the folder of boxes: the grader removes old boxes), and the folders on the
    way to it stay."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if info.st_dev != device:
            continue  # a mount point
        if stat.S_ISDIR(info.st_mode):
            try:
                os.chmod(path, 0o700)
            except OSError:
                pass
            _empty(path, device)
            try:
                os.rmdir(path)
            except OSError:
                pass  # it holds a mount point
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def remove(path: str) -> None:
    """Remove ``path``, whatever a kernel did to its permissions (its folders opened first);
    the grader removes a kernel's box with it too (sandbox.remove)."""
    if os.path.isdir(path) and not os.path.islink(path):
        _open_up(path)
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except OSError:
            pass


def _open_up(folder: str) -> None:
    """Give the owner every right on ``folder`` and the folders inside it, top down (a
    folder without them cannot be listed, so os.walk alone would not get inside)."""
    try:
        os.chmod(folder, 0o700)
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isdir(path) and not os.path.islink(path):
            _open_up(path)


def _reap(block: bool = False) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _in_own_sandbox() -> bool:
    """Whether this process runs in a PID namespace whose init is bubblewrap (the sweep's
    kill(-1) must never run anywhere else)."""
    try:
        with open("/proc/1/comm") as f:
            return f.read().strip() == "bwrap"
    except OSError:
        return False


def _read_request(client: socket.socket) -> tuple[dict, list[int]]:
    line, fds, _, _ = socket.recv_fds(client, 1 << 20, 3)
    while not line.endswith(b"\n"):
        chunk = client.recv(1 << 20)
        if not chunk:
            break
        line += chunk
    return json.loads(line), fds


def serve(fd: int, sandboxed: bool) -> None:
    die_with_parent()  # the grader dies: so does the zygote
    if sandboxed:
        if not _in_own_sandbox():
            sys.stderr.write("zygote.py --sandboxed runs only inside the grading sandbox\n")
            sys.exit(2)
        _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no kernel may trace it or read its memory
    here = os.path.dirname(os.path.abspath(__file__))
    if here in sys.path:
        sys.path.remove(here)
    for name in WARM:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (a module the environment lacks is imported by the notebook, or not)
            pass
    listener = socket.socket(fileno=fd)
    kernel: tuple[socket.socket, int] | None = None
    signal.signal(signal.SIGCHLD, lambda *_: _reap())  # finished kernels leave no zombie behind
    print("ready", flush=True)
    while True:
        try:
            readable, _, _ = select.select([listener, *([kernel[0]] if kernel else [])], [], [], 5.0)
        except InterruptedError:
            readable = []
        _reap()
        if kernel and kernel[0] in readable and not kernel[0].recv(1):  # the stand-in is gone: the kernel goes too
            _end(kernel, sandboxed)
            kernel = None
        if listener not in readable:
            continue
        client, _ = listener.accept()
        try:
            request, fds = _read_request(client)
        except (OSError, ValueError):
            client.close()
            continue
        if kernel:  # one kernel at a time: the sweep before the next one would kill it
            _end(kernel, sandboxed)
            kernel = None
        if sandboxed:
            _sweep()
        pid = os.fork()
        if pid == 0:
            listener.close()
            client.close()
            null = os.open(os.devnull, os.O_RDWR)
            for target in range(3):  # the stand-in's stdin, stdout and stderr (never the zygote's)
                os.dup2(fds[target] if target < len(fds) else null, target)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # nothing else of the zygote's reaches a kernel
            _kernel(request, sandboxed)
        for received in fds:
            os.close(received)
        try:
            pidfd = os.pidfd_open(pid)
            socket.send_fds(client, [json.dumps({"pid": pid}).encode() + b"\n"], [pidfd])
            os.close(pidfd)
        except OSError:
            pass
        kernel = (client, pid)


def _end(kernel: tuple[socket.socket, int], sandboxed: bool) -> None:
    """Stop a kernel and everything it started."""
    conn, pid = kernel
    conn.close()
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    if sandboxed:
        _sweep()


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("--sandboxed", "--plain"):
        sys.stderr.write("usage: zygote.py (--sandboxed | --plain) FD\n")
        sys.exit(2)
    serve(int(sys.argv[2]), sys.argv[1] == "--sandboxed")

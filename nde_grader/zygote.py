"""Pre-warmed grading kernels: a process that imports the heavy modules once and forks a kernel per notebook.

    python -I zygote.py SOCKET            run as root by the grader; prints "ready" when it is

Starting a kernel and importing PyTorch, NumPy, pandas, matplotlib and seaborn costs a
few seconds of CPU, for every notebook graded. The zygote pays it once: it imports them,
then waits on a Unix socket. For each kernel the grader asks for, it forks; the child
enters the grading sandbox (``sandbox_exec.enter``: its own file system, user, no
network), takes the kernel's environment, and runs ipykernel in the state the zygote
left it, modules already loaded. Each child is one kernel, used for one notebook.

Nothing of the grading library is ever imported here: the zygote loads the sandbox's
own standard-library code by its path and removes its folder from ``sys.path``, so a
kernel forked from it holds the libraries a notebook imports and nothing else.

The kernel is not the grader's child: ``zygote_client.py`` stands in for it (the grader
starts that as the kernel's process, as Jupyter expects one), passes signals on, and
exits with it; when the stand-in dies (killed by the grader), the zygote kills its
kernel; when the zygote dies, its kernels die too.
"""
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WARM = ("numpy", "torch", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn", "torch.utils.tensorboard",
        "tqdm.auto", "ipykernel.kernelapp", "nde_student")
"""What the course's notebooks import: loaded once, here."""


def _sandbox():
    spec = importlib.util.spec_from_file_location("_nde_sandbox_exec", os.path.join(HERE, "sandbox_exec.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _kernel(sandbox, request: dict) -> None:
    """In the forked child: become the sandboxed kernel, then run ipykernel. Never returns."""
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if request.get("config"):
            config = sandbox.enter(request["config"])
            env = config["env"]
        else:
            env = request.get("env", {})
            os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(env)
        import random

        import numpy
        import torch

        random.seed()  # the zygote's generator states are every kernel's: start from fresh entropy
        numpy.random.seed()
        torch.seed()
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


def _kill_user(uid: int) -> None:
    """SIGKILL every process of a kernel's own user id, from a child that takes that id."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def serve(path: str) -> None:
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # the grader dies: so does the zygote
    sandbox = _sandbox()
    if HERE in sys.path:
        sys.path.remove(HERE)
    for name in WARM:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 (a module the environment lacks is imported by the notebook, or not)
            pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    kernels: dict[socket.socket, int] = {}
    signal.signal(signal.SIGCHLD, lambda *_: _reap())  # finished kernels leave no zombie behind
    print("ready", flush=True)
    while True:
        try:
            readable, _, _ = select.select([listener, *kernels], [], [], 5.0)
        except InterruptedError:
            readable = []
        _reap()
        for conn in readable:
            if conn is listener:
                client, _ = listener.accept()
                try:
                    line, fds, _, _ = socket.recv_fds(client, 1 << 20, 3)
                    while not line.endswith(b"\n"):
                        chunk = client.recv(1 << 20)
                        if not chunk:
                            break
                        line += chunk
                    request = json.loads(line)
                except (OSError, ValueError):
                    client.close()
                    continue
                uid = None
                if request.get("config"):
                    try:
                        with open(request["config"]) as f:
                            uid = json.load(f)["uid"]
                    except (OSError, ValueError, KeyError):
                        pass
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    for other in kernels:
                        other.close()
                    client.close()
                    null = os.open(os.devnull, os.O_RDWR)
                    for target in range(3):  # the stand-in's stdin, stdout and stderr (never the zygote's)
                        os.dup2(fds[target] if target < len(fds) else null, target)
                    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # nothing else of the zygote's reaches a kernel
                    _kernel(sandbox, request)
                for fd in fds:
                    os.close(fd)
                client.sendall(json.dumps({"pid": pid}).encode() + b"\n")
                kernels[client] = (pid, uid)
            elif not conn.recv(1):  # the stand-in is gone: its kernel goes too, and all it started
                pid, uid = kernels.pop(conn)
                conn.close()
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                if uid:
                    _kill_user(uid)


if __name__ == "__main__":
    serve(sys.argv[1])

"""Stand in for a kernel that the zygote forks: the process Jupyter starts, signals and waits for.

    python -I -S zygote_client.py SOCKET (CONFIG.json | -) -- KERNEL ARGV...

Asks the zygote (``zygote.py``) for a kernel, in the sandbox that CONFIG describes (``-``:
no sandbox, the kernel runs in this working folder), then passes on every signal it
gets (an interrupt, a request to stop) to that kernel and exits when the kernel does.
If this process is killed, the zygote sees its connection close and kills the kernel.
Standard library only.
"""
import json
import os
import select
import signal
import socket
import sys

EXIT_ZYGOTE = 70


def main(argv: list[str]) -> int:
    if len(argv) < 5 or argv[3] != "--":
        sys.stderr.write("usage: zygote_client.py SOCKET CONFIG -- ARGV...\n")
        return 2
    import ctypes

    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # its starter dies (the grader): so does it, and the kernel
    request = {"argv": argv[4:], "config": None if argv[2] == "-" else argv[2]}
    if argv[2] == "-":
        request.update(env=dict(os.environ), cwd=os.getcwd())
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(argv[1])
        # the kernel writes where this process would (Jupyter set up its output), reads nothing
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("the zygote closed the connection")
            reply += chunk
        pid = json.loads(reply)["pid"]
    except (OSError, ValueError, KeyError) as exc:
        sys.stderr.write(f"grading kernel: the zygote at {argv[1]} gave no kernel: {exc}\n")
        return EXIT_ZYGOTE
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, lambda number, _frame: _forward(pid, number))
    watch = os.pidfd_open(pid)
    while True:
        try:
            ready, _, _ = select.select([watch, conn], [], [])
        except InterruptedError:
            continue
        if watch in ready:  # the kernel has exited
            return 0
        if conn in ready and not conn.recv(1):  # the zygote is gone (and its kernels with it)
            return 1


def _forward(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))

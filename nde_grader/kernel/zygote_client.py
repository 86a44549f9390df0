"""Stand in for a kernel that the zygote forks: the process Jupyter starts, signals and waits for.

    python -I -S zygote_client.py SOCKET (KERNEL.json | -) -- KERNEL ARGV...

Asks the zygote (``zygote.py``) for a kernel with the folder, environment and limits that
KERNEL.json holds (``sandbox.Sandbox.write_config``; ``-``: this process's own folder and
environment, without the sandbox), gets back the kernel's pidfd, passes on every signal
it gets (an interrupt, a request to stop) through it, and exits when the kernel does. A
pidfd works across the sandbox's PID namespace. If this process is killed, the zygote
sees its connection close and kills the kernel. Standard library only.
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

    # PR_SET_PDEATHSIG (zygote.die_with_parent, written again: this file imports nothing of the course)
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # its starter dies (the grader): so does it, and the kernel
    request = {"argv": argv[4:]}
    try:
        if argv[2] == "-":
            request.update(env=dict(os.environ), cwd=os.getcwd())
        else:
            with open(argv[2]) as f:
                request.update(json.load(f))
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"grading kernel: cannot read {argv[2]}: {exc}\n")
        return EXIT_ZYGOTE
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(argv[1])
        # the kernel writes where this process would (Jupyter set up its output), reads nothing
        socket.send_fds(conn, [json.dumps(request).encode() + b"\n"], [0, 1, 2])
        reply, fds, _, _ = socket.recv_fds(conn, 4096, 1)
        while reply and not reply.endswith(b"\n"):
            chunk = conn.recv(4096)
            if not chunk:
                break
            reply += chunk
        if not fds:
            raise OSError("the zygote gave no kernel")
        pidfd = fds[0]
        json.loads(reply)
    except (OSError, ValueError) as exc:
        sys.stderr.write(f"grading kernel: the zygote at {argv[1]} gave no kernel: {exc}\n")
        return EXIT_ZYGOTE
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, lambda number, _frame: _forward(pidfd, number))
    while True:
        try:
            ready, _, _ = select.select([pidfd, conn], [], [])
        except InterruptedError:
            continue
        if pidfd in ready:  # the kernel has exited
            return 0
        if conn in ready and not conn.recv(1):  # the zygote is gone (and its kernels with it)
            return 1


def _forward(pidfd: int, number: int) -> None:
    try:
        signal.pidfd_send_signal(pidfd, number)
    except ProcessLookupError:
        pass


if __name__ == "__main__":
    sys.exit(main(sys.argv))

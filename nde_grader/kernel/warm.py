"""Warm kernels: the grader's handle on a zygote (``zygote.py``), one per grading thread.

A ``Zygote`` starts ``zygote.py`` in a bubblewrap of its own (``sandbox.bwrap_args``), waits
for it to have imported the heavy modules, and gives its socket to the kernels' stand-in
(``zygote_client.py``), which asks it for each notebook's kernel.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from .sandbox import (REPOSITORY, ZYGOTE, ZYGOTE_INSIDE, _give, _next_uid, bwrap_args, copy_font_cache, kernel_env,
                      remove)


class Zygote:
    """A sandboxed zygote (zygote.py) for this thread: started on first use, stopped with it.

    Its folder (the grader's) holds the socket that zygote_client.py connects to (outside
    the sandbox: the zygote accepts on the descriptor it was given) and ``boxes``, the one
    folder of the machine the zygote's sandbox may write, where each kernel's own box is
    made. ``NDE_ZYGOTE_SOCKET`` names one started elsewhere (by a Dask worker, for all the
    students it grades); ``NDE_ZYGOTE=0`` turns zygotes off (every kernel then starts in a
    bubblewrap of its own). ``sandboxed=False`` (``--no-sandbox``) runs it as the grader."""

    _mine = threading.local()

    def __init__(self, sandboxed: bool = True, hide: list[str] = ()):
        import atexit
        import select

        self.folder = Path(tempfile.mkdtemp(prefix="nde-zygote-"))
        self.folder.chmod(0o711)  # the sandbox's user may pass through to its boxes, not reach the socket
        self.path = str(self.folder / "socket")
        self.uid = _next_uid() if sandboxed and os.geteuid() == 0 else None
        boxes = self.folder / "boxes"
        home = boxes / "zygote-home"
        home.mkdir(parents=True)
        copy_font_cache(home)
        _give(self.uid, boxes)
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        os.chmod(self.path, 0o600)
        self.listener.listen(64)
        fd = self.listener.fileno()
        # a kernel forked from the zygote inherits what the zygote was started with (its
        # /proc/self/environ): a kernel's environment, never the grader's
        if sandboxed:
            hidden = sorted({*hide, str(REPOSITORY)})
            argv = [*bwrap_args([str(boxes)], hide=hidden, files={str(ZYGOTE): ZYGOTE_INSIDE}, cwd=str(home),
                                uid=self.uid, env=kernel_env(str(home))),
                    sys.executable, "-I", ZYGOTE_INSIDE, "--sandboxed", str(fd)]
        else:
            argv = [sys.executable, "-I", str(ZYGOTE), "--plain", str(fd)]
        self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, env=kernel_env(str(home)), cwd=str(home),
                                        pass_fds=[fd], start_new_session=True)
        ready, _, _ = select.select([self.process.stdout], [], [], 180)
        if not ready or self.process.stdout.readline().strip() != b"ready":
            why = self.process.stderr.read().decode("utf-8", "replace")[-400:] if self.process.poll() is not None else ""
            self.close()
            raise RuntimeError(f"the kernel zygote did not start{': ' + why.strip() if why.strip() else ''}")
        self.process.stderr.close()
        atexit.register(self.close)

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.listener.close()
        remove(self.folder)

    @classmethod
    def socket(cls, sandboxed: bool = True) -> str | None:
        """The socket of the zygote to use, starting one for this thread if needed; None
        when zygotes are off."""
        if os.environ.get("NDE_ZYGOTE") == "0":
            return None
        given = os.environ.get("NDE_ZYGOTE_SOCKET")
        if given and os.path.exists(given):
            return given
        if not hasattr(cls._mine, "zygotes"):
            cls._mine.zygotes = {}
        mine = cls._mine.zygotes.get(sandboxed)
        if mine is None or not mine.alive():
            if mine is not None:
                mine.close()
            cls._mine.zygotes[sandboxed] = mine = Zygote(sandboxed=sandboxed)
        return mine.path

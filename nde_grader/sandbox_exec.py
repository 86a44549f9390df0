"""Start one grading kernel inside its sandbox; run by the grader as root, replaced by the kernel.

    python -I -S sandbox_exec.py CONFIG.json -- KERNEL ARGV...

The process detaches itself from the machine's mount, network, IPC and host-name
namespaces, builds a new root file system that holds only what a kernel needs (the
system's programs and libraries, the Python installation, the course's environment
and the students' library, all read-only), the kernel's scratch folder (writable: the
student's notebooks), its home (writable, made empty by the grader) and empty /tmp and
/dev/shm, changes into it, drops every privilege
(an unprivileged user and group of its own, no supplementary groups, no new
privileges), sets resource limits and replaces itself with the kernel. The instructor's
files (the course repository with its answers and checks, the gradebook, other
students' folders, /root, /home, the real /tmp) are not in that file system at all, and
there is no network: the kernel talks to the grader through Unix sockets in its scratch
folder.

This file uses the standard library only and is run with ``-I -S``, so that nothing of
the grading library is ever loaded in the process that becomes the kernel. CONFIG keys:
root (an empty folder to build the new root on), scratch (the working folder), writable
(other folders the kernel may write: its home), uid, gid, read_only (paths),
hide (paths never to show, even inside a read-only one),
devices (extra device files, e.g. GPUs), env (the kernel's whole environment),
limits ({name: value} for resource.RLIMIT_<NAME>).
"""
import ctypes
import fcntl
import json
import os
import resource
import socket
import struct
import sys

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x00020000, 0x04000000, 0x08000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_NO_NEW_PRIVS = 1, 38
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
EXIT_SANDBOX = 70  # the sandbox could not be built (sysexits' EX_SOFTWARE)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]


def _ok(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source, target, fstype, flags, data=None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _ok(_libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)), f"mount {source} on {target}")


def _bind(source: str, target: str, writable: bool = False) -> None:
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.exists(target):
            open(target, "w").close()
    _mount(source, target, None, MS_BIND | MS_REC)
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (0 if writable else MS_RDONLY)
    if not source.startswith("/dev/"):
        flags |= MS_NODEV
    _mount(None, target, None, flags)


def _loopback_up() -> None:
    """Bring up the new network namespace's own loopback (it reaches nothing outside): a
    Jupyter kernel started inside the sandbox, as the self-check does, talks over it."""
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        flags = struct.unpack("16sH", fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH", b"lo", 0))[:18])[1]
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def build(config: dict) -> None:
    root = config["root"]
    _ok(_libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _loopback_up()
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back to the machine
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
    # /tmp, /dev and /proc first: a path bound below may lie under one of them (a course
    # environment under /tmp), and would be hidden by a file system mounted after it
    for name in ("tmp", "dev", "proc"):
        os.makedirs(f"{root}/{name}", exist_ok=True)
    _mount("tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=512m")
    _mount("tmpfs", f"{root}/dev", "tmpfs", MS_NOSUID, "mode=755,size=1m")
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            _bind(f"/dev/{name}", f"{root}/dev/{name}", writable=True)
    for device in config.get("devices", []):
        _bind(device, root + device, writable=True)
    os.makedirs(f"{root}/dev/shm")
    _mount("tmpfs", f"{root}/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=256m")
    for link, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2")):
        os.symlink(target, f"{root}/dev/{link}")
    try:  # a process list that shows only the kernel's own processes
        _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV, "hidepid=invisible")
    except OSError:
        _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV, "hidepid=2")
    # parents before children, so that a path inside another one is bound on top of it; a
    # hidden path that lies inside a bound one (a course kept under /usr/local, say) is
    # covered by an empty file system, with what must stay visible inside it bound again
    visible = sorted(set(config["read_only"]))
    hidden = [h for h in config.get("hide", []) if any(h.startswith(p.rstrip("/") + "/") for p in visible)]
    steps = [(p, "bind") for p in visible] + [(h, "hide") for h in hidden]
    for path, what in sorted(steps, key=lambda step: (step[0].count("/"), step[1] == "bind", step[0])):
        if what == "hide":
            if os.path.isdir(root + path):
                _mount("tmpfs", root + path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=1m")  # root-owned: the kernel cannot write
        elif os.path.islink(path) and os.path.dirname(path) == "/":  # /bin -> usr/bin on merged-/usr systems
            os.symlink(os.readlink(path), root + path)
        elif os.path.exists(path):
            _bind(path, root + path)
    scratch = config["scratch"]
    for path in [scratch, *config.get("writable", [])]:
        _bind(path, root + path, writable=True)
    os.chroot(root)
    os.chdir(scratch)


def drop(config: dict) -> None:
    uid, gid = config["uid"], config["gid"]
    for name, value in config.get("limits", {}).items():
        resource.setrlimit(getattr(resource, f"RLIMIT_{name.upper()}"), (value, value))
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    _ok(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)")
    _ok(_libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0), "prctl(PDEATHSIG)")  # the grader dies: so does the kernel
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("the kernel still runs as root")


def enter(config_path: str) -> dict:
    """Read the sandbox's configuration (and delete it), give the scratch folder to the
    kernel's user, build the sandbox around this process and drop every privilege.
    Exits with EXIT_SANDBOX, saying why, when any step fails: nothing runs then."""
    try:
        with open(config_path) as f:
            config = json.load(f)
        os.unlink(config_path)
        for dirpath, dirnames, filenames in os.walk(config["scratch"]):  # the student's files become the kernel's
            for name in [dirpath, *(os.path.join(dirpath, n) for n in dirnames + filenames)]:
                os.lchown(name, config["uid"], config["gid"])
        build(config)
        drop(config)
    except Exception as exc:  # noqa: BLE001 (anything that stops the sandbox is reported, and nothing starts)
        sys.stderr.write(f"grading sandbox: {type(exc).__name__}: {exc}\n")
        sys.stderr.flush()
        os._exit(EXIT_SANDBOX)
    return config


def main(argv: list[str]) -> None:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: sandbox_exec.py CONFIG.json -- ARGV...\n")
        sys.exit(2)
    config = enter(argv[1])
    os.execve(argv[3], argv[3:], config["env"])


if __name__ == "__main__":
    main(sys.argv)

"""A real PostgreSQL server for the tests: started on loopback in a temporary folder, stopped after.

PostgreSQL's server refuses to run as root: when the tests run as root (CI), the server
runs as the ``postgres`` account that Debian's package creates. scripts/install_system.sh
installs the package where ``initdb`` is missing.
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def unavailable() -> str | None:
    if not _binary("initdb") or not _binary("pg_ctl"):
        return "PostgreSQL's server (initdb, pg_ctl) is not installed: run scripts/install_system.sh"
    if os.geteuid() == 0:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres account to run the server as"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One PostgreSQL cluster in ``folder``, listening on 127.0.0.1:``port``."""

    def __init__(self, folder: Path):
        self.folder, self.port = folder, _free_port()
        self.data = folder / "data"
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", self.user, "--", *argv] if self.user else list(argv)
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if check and done.returncode:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stdout}{done.stderr}")
        return done

    def init(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.user:
            shutil.chown(self.folder, self.user)
        self._run(_binary("initdb"), "-D", str(self.data), "-A", "trust", "-U", "nde", "-N", "-E", "UTF8",
                  "--locale=C")

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off -c full_page_writes=off"
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w",
                  "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def url(self, database: str = "gradebook") -> str:
        return f"postgresql://nde@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        for _ in range(50):
            try:
                with engine.connect() as conn:
                    conn.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
                break
            except sqlalchemy.exc.OperationalError:
                time.sleep(0.2)
        engine.dispose()
        return self.url(name)


@contextmanager
def postgres():
    """A started server in a folder of its own (owned by the server's account, under the
    system's temporary folder, which that account can reach)."""
    import tempfile

    server = Server(Path(tempfile.mkdtemp(prefix="nde-pg-")))
    server.init()
    server.start()
    try:
        yield server
    finally:
        server.stop("immediate")
        shutil.rmtree(server.folder, ignore_errors=True)

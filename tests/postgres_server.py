"""A throwaway PostgreSQL server on 127.0.0.1, for the gradebook tests and benchmarks.

``initdb`` and ``pg_ctl`` from Debian's packages (``apt-get install postgresql``), run as the
``postgres`` user where this runs as root; the server's folder is removed when it stops.
"""
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


ATTEMPTS = 3  # starts, each on a port chosen afresh


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_bin():
    """The folder of ``pg_ctl``, or None where PostgreSQL is not installed."""
    for candidate in [shutil.which("pg_ctl"), *sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))]:
        if candidate:
            return Path(candidate).resolve().parent
    return None


@contextmanager
def temporary_postgres(bin_dir):
    """A server started from ``bin_dir`` with one empty database; yields its SQLAlchemy URL."""
    folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))  # reachable by the postgres user
    folder.chmod(0o777)
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = folder / "data"
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres"],
                   check=True, capture_output=True)
    for attempt in range(1, ATTEMPTS + 1):
        port = free_port()  # nothing holds it until the server binds it: another may take it meanwhile
        started = subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(folder / "log"),
                                  "-o", f"-p {port} -c listen_addresses=127.0.0.1 -k {folder}", "start"],
                                 capture_output=True)
        if started.returncode == 0:
            break
        if attempt == ATTEMPTS or "Address already in use" not in (folder / "log").read_text(errors="replace"):
            shutil.rmtree(folder, ignore_errors=True)
            started.check_returncode()
    try:
        subprocess.run([*run_as, str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                        "-U", "postgres", "gradebook"], check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)

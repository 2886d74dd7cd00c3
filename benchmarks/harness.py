"""A fresh database, Django configured against it, and the app served by `smarketing serve`.

The benchmark process and the server it starts share one configuration through the
environment: a new data folder per run, SQLite in it or a PostgreSQL database
(`smarketing_bench` unless `--pg-database` names another; dropped and created again),
DEBUG off. The shipped default playbook is put in force, as on a new
install, so scoring on write does its real work.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PG_HOST = "127.0.0.1"
PG_DATABASE = "smarketing_bench"
PG_URL = f"postgres://postgres@{PG_HOST}:5432/{PG_DATABASE}"


@dataclass
class Bench:
    """One configured run: where its data lives and what it found."""

    name: str
    db: str
    data_dir: Path
    started: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    results: dict[str, Any] = field(default_factory=dict)

    def record(self, **values: Any) -> None:
        self.results.update(values)

    def save(self) -> Path:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"{self.name}-{self.db}-{self.started.replace(':', '')}.json"
        payload = {
            "name": self.name,
            "db": self.db,
            "started": self.started,
            "machine": machine(),
            "results": self.results,
        }
        path.write_text(json.dumps(payload, indent=2, default=str))
        return path


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def _pg(*args: str, database: str = PG_DATABASE) -> None:
    subprocess.run(
        [*args, "-h", PG_HOST, "-U", "postgres", database], check=True, capture_output=True
    )


def configure(name: str, db: str, pg_database: str = PG_DATABASE, *, rules: bool = True) -> Bench:
    """Point this process (and the servers it starts) at a fresh, migrated database.

    `pg_database` names the PostgreSQL database to recreate, so two benchmarks can run
    side by side on one server. With `rules`, the default definitions (ICP, scoring,
    stages, SLA) are in force.
    """
    if db not in ("sqlite", "postgres"):
        raise SystemExit("--db must be sqlite or postgres")
    data_dir = Path(tempfile.mkdtemp(prefix=f"smarketing-bench-{name}-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="smarketing.settings",
        SMARKETING_DATA_DIR=str(data_dir),
        SMARKETING_ENV="embedded",
        DEBUG="false",
        LOG_LEVEL="WARNING",
        ALLOWED_HOSTS="127.0.0.1,localhost",
    )
    if db == "postgres":
        _pg("dropdb", "--if-exists", "--force", database=pg_database)
        _pg("createdb", database=pg_database)
        os.environ["DATABASE_URL"] = f"postgres://postgres@{PG_HOST}:5432/{pg_database}"
    else:
        os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    bench = Bench(name=name, db=db, data_dir=data_dir)
    if rules:
        from smarketing.definitions.actions import install_defaults

        install_defaults()
    from django.conf import settings

    # SMARKETING_SCORE_ON_WRITE=false in the environment measures ingestion without scoring.
    bench.record(rules_in_force=rules, score_on_write=settings.SMARKETING_SCORE_ON_WRITE)
    if not settings.SMARKETING_SCORE_ON_WRITE:
        print("(scoring on write is OFF for this run)", flush=True)
    return bench


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`smarketing serve --no-worker` on a free local port, for the length of a `with`."""

    def __init__(self, bench: Bench, workers: int):
        self.port = free_port()
        self.workers = workers
        self.log_path = bench.data_dir / "server.log"
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        log = open(self.log_path, "w")
        command = [
            sys.executable,
            "-m",
            "smarketing",
            "serve",
            "--no-worker",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
        ]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/login/", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The server did not start; see {self.log_path}")
            time.sleep(0.3)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the server and its gunicorn workers."""
        assert self.process is not None
        return sum(_cpu_of(pid) for pid in _descendants(self.process.pid))

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    queue.extend(int(child) for child in handle.read().split())
        except OSError:
            continue
    return found


def _cpu_of(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are the 14th and 15th fields of the line (11th and 12th after the name).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest_token() -> str:
    """A fresh user with an ingest-only API token; returns the raw token."""
    from smarketing.core.actions import do_create_token, do_create_user
    from smarketing.core.actors import SYSTEM
    from smarketing.core.choices import Role

    user = do_create_user(
        email=f"website-{time.time_ns()}@bench.example",
        password=None,
        role=Role.MARKETING,
        actor=SYSTEM,
    )
    _, raw = do_create_token(user=user, name="benchmark", scopes=["ingest"], actor=SYSTEM)
    return raw


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * (len(sorted_values) - 1))))
    return sorted_values[index]


def ratio(measured: float, target: float, *, lower_is_better: bool = False) -> str:
    """`measured` against `target` in words: 1.23x target (met) / 0.45x target (missed)."""
    if lower_is_better:
        met = measured <= target
        return f"{measured / target:.2f}x the limit ({'met' if met else 'missed'})"
    met = measured >= target
    return f"{measured / target:.2f}x target ({'met' if met else 'missed'})"

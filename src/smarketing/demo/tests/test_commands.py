"""`smarketing demo`, `serve` and `worker`, and the core's periodic task."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

import httpx
import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from smarketing.core.management.commands import serve
from smarketing.crm.models import Contact
from smarketing.demo import DEMO_DOMAIN, DEMO_PASSWORD

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


# --- smarketing demo -------------------------------------------------------------------


def test_demo_loads_and_prints_the_logins():
    output = run("demo", "--contacts", "40", "--seed", "3", "--now", "2025-06-02")
    assert Contact.objects.count() == 40
    assert "Loaded the demo company (seed 3, history up to 2025-06-02)" in output
    assert f"password for all: {DEMO_PASSWORD}" in output
    assert f"admin@{DEMO_DOMAIN}" in output and f"sales.manager@{DEMO_DOMAIN}" in output


def test_demo_if_empty_leaves_existing_contacts_alone():
    run("demo", "--contacts", "25", "--now", "2025-06-02")
    output = run("demo", "--contacts", "60", "--if-empty")
    assert "already holds 25 contacts; the demo company was not loaded" in output
    assert Contact.objects.count() == 25


def test_demo_refuses_a_filled_database_unless_told_to_reset():
    run("demo", "--contacts", "25", "--now", "2025-06-02")
    with pytest.raises(CommandError, match=r"already holds 25 contacts\. Use --reset"):
        run("demo", "--contacts", "30")
    output = run("demo", "--contacts", "30", "--reset", "--now", "2025-06-02")
    assert "Deleted 25 contacts" in output
    assert Contact.objects.count() == 30


def test_demo_says_so_when_the_database_is_not_migrated(monkeypatch):
    from smarketing.core.management.commands import demo

    monkeypatch.setattr(demo, "pending_migrations", lambda: ["crm.0001_initial"])
    with pytest.raises(CommandError, match=r"not migrated .* Run `smarketing migrate` first"):
        run("demo", "--contacts", "10")
    assert not Contact.objects.exists()


def test_an_unreachable_database_is_said_in_plain_words(monkeypatch):
    from django.db import OperationalError

    from smarketing.core.management.commands import demo
    from smarketing.demo import readiness

    def refuse(connection):
        raise OperationalError("connection refused")

    monkeypatch.setattr(readiness, "MigrationExecutor", refuse)
    with pytest.raises(readiness.DatabaseUnreachable, match="Cannot reach the database"):
        readiness.pending_migrations()
    monkeypatch.setattr(demo, "pending_migrations", readiness.pending_migrations)
    with pytest.raises(CommandError, match="Cannot reach the database: connection refused"):
        run("demo")
    with pytest.raises(CommandError, match="Cannot reach the database: connection refused"):
        run("serve", "--bind", "127.0.0.1:8000")


def test_demo_rejects_bad_arguments_in_plain_words():
    with pytest.raises(CommandError, match="--now must be a date"):
        run("demo", "--now", "yesterday")
    with pytest.raises(CommandError, match="number of demo contacts is out of range"):
        run("demo", "--contacts", "0")


# --- smarketing serve ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["8000", "localhost", ":8000", "host:port", "127.0.0.1:70000"])
def test_serve_rejects_a_malformed_bind(text):
    with pytest.raises(CommandError, match="--bind must look like"):
        serve.parse_bind(text)


def test_serve_reads_its_defaults_from_the_environment(monkeypatch):
    monkeypatch.setenv("SMARKETING_BIND", "nonsense")
    with pytest.raises(CommandError, match="'nonsense'"):
        run("serve")
    monkeypatch.setenv("SMARKETING_BIND", "127.0.0.1:8000")
    monkeypatch.setenv("SMARKETING_WEB_WORKERS", "0")
    with pytest.raises(CommandError, match="web workers must be 1 to 64, not 0"):
        run("serve")


def test_web_command_serves_the_project_with_gunicorn():
    command = serve.web_command("127.0.0.1:9000", 3)
    assert command[:4] == [sys.executable, "-m", "gunicorn", "smarketing.wsgi:application"]
    assert command[command.index("--bind") + 1] == "127.0.0.1:9000"
    assert command[command.index("--workers") + 1] == "3"


def _sleeper(ignore: signal.Signals | None = None) -> list[str]:
    ignoring = f"signal.signal({int(ignore)}, signal.SIG_IGN); " if ignore else ""
    return [sys.executable, "-c", f"import signal, time; {ignoring}time.sleep(60)"]


def test_a_signal_stops_every_child_cleanly():
    supervisor = serve.Supervisor(StringIO())
    web = supervisor.start("web server", _sleeper(), signal.SIGTERM)
    worker = supervisor.start("background worker", _sleeper(), signal.SIGINT)
    threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM)).start()
    assert supervisor.wait(poll=0.05) == 0
    assert web.process.returncode == -signal.SIGTERM
    assert worker.process.returncode is not None


def test_when_one_child_dies_the_other_is_stopped_and_the_exit_code_says_so():
    out = StringIO()
    supervisor = serve.Supervisor(out)
    supervisor.start("web server", [sys.executable, "-c", "raise SystemExit(3)"], signal.SIGTERM)
    worker = supervisor.start("background worker", _sleeper(), signal.SIGINT)
    assert supervisor.wait(poll=0.05) == 1
    assert worker.process.returncode is not None
    assert "The web server exited unexpectedly (code 3)" in out.getvalue()


def test_a_child_that_ignores_its_stop_signal_is_killed_after_the_grace_period(monkeypatch):
    monkeypatch.setattr(serve, "GRACE_SECONDS", 1)
    supervisor = serve.Supervisor(StringIO())
    stubborn = supervisor.start("web server", _sleeper(ignore=signal.SIGTERM), signal.SIGTERM)
    time.sleep(0.3)  # let it install its handler
    supervisor.stopping = True
    assert supervisor.wait(poll=0.05) == 0
    assert stubborn.process.returncode == -signal.SIGKILL


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="serves its own SQLite database; the SQLite run covers it",
)
def test_serve_end_to_end_pages_and_static_files_with_debug_off(tmp_path: Path):
    """The real thing: migrate, load a small demo, serve, fetch, stop with SIGTERM."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DEBUG")}
    env.update(SMARKETING_DATA_DIR=str(tmp_path), DEBUG="false", SMARKETING_ENV="embedded")
    smarketing = [sys.executable, "-m", "smarketing"]
    subprocess.run([*smarketing, "migrate", "-v0"], env=env, check=True, timeout=120)
    subprocess.run(
        [*smarketing, "demo", "--contacts", "20"],
        env=env,
        check=True,
        timeout=120,
        stdout=subprocess.DEVNULL,
    )
    port = _free_port()
    server = subprocess.Popen(
        [*smarketing, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                login = httpx.get(f"{base}/login/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.3)
        assert login.status_code == 200
        script = httpx.get(f"{base}/static/smarketing/vendor/htmx.min.js", timeout=5)
        assert script.status_code == 200 and "htmx" in script.text[:2000]
        assert httpx.get(f"{base}/static/no-such-file.css", timeout=5).status_code == 404
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert f"Smarketing is running at http://127.0.0.1:{port}/" in output
    assert f"admin@{DEMO_DOMAIN}" in output and "Stopped." in output


# --- smarketing worker and the periodic task ------------------------------------------------


def test_worker_is_the_huey_consumer_with_its_options():
    from huey.contrib.djhuey.management.commands.run_huey import Command as RunHuey

    from smarketing.core.management.commands.worker import Command

    assert issubclass(Command, RunHuey)
    parser = Command().create_parser("smarketing", "worker")
    assert parser.parse_args(["--workers", "4"]).workers == 4


def test_expired_sessions_are_cleared_by_the_daily_task():
    from smarketing.core.tasks import clear_expired_sessions

    fresh = SessionStore()
    fresh["x"] = 1
    fresh.create()
    stale = SessionStore()
    stale["x"] = 2
    stale.create()
    Session.objects.filter(session_key=stale.session_key).update(
        expire_date=timezone.now() - timedelta(days=1)
    )
    clear_expired_sessions.call_local()
    assert list(Session.objects.values_list("session_key", flat=True)) == [fresh.session_key]
    runs_at = clear_expired_sessions.task_class().validate_datetime
    assert runs_at(datetime(2025, 1, 1, 3, 17))
    assert not runs_at(datetime(2025, 1, 1, 4, 17))

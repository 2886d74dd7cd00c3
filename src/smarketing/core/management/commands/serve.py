"""`smarketing serve`: the web app under gunicorn and, beside it, the background worker.

Both run as child processes of this one, which prints where to go and who can sign
in, then waits. Ctrl-C or SIGTERM stops both (gracefully, then firmly after a grace
period); if either child dies on its own, the other is stopped too and the command
fails, so a supervisor notices.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from dataclasses import dataclass

import gunicorn
from django.core.management.base import BaseCommand, CommandError

from smarketing.demo.readiness import (
    DatabaseUnreachable,
    login_lines,
    not_migrated_message,
    pending_migrations,
)
from smarketing.env import get_from_env

GRACE_SECONDS = 15


def parse_bind(text: str) -> tuple[str, int]:
    """`host:port` → (host, port), with a plain-words error for anything else."""
    host, sep, port = (text or "").strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--bind must look like 127.0.0.1:8000, not {text!r}.")
    return host, int(port)


def web_command(bind: str, workers: int) -> list[str]:
    extra = []
    if gunicorn.version_info >= (27,):
        # One control socket per user by default: parallel servers would fight over it.
        extra.append("--no-control-socket")
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "smarketing.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--graceful-timeout",
        str(GRACE_SECONDS - 5),
        "--timeout",
        "60",
        "--error-logfile",
        "-",
        *extra,
    ]


def worker_command() -> list[str]:
    return [sys.executable, "-m", "smarketing", "worker"]


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    # gunicorn stops gracefully on SIGTERM; the huey consumer on SIGINT.
    stop_signal: int


class Supervisor:
    """Runs the children until a signal arrives or one of them exits."""

    def __init__(self, out=None):
        self.children: list[Child] = []
        self.stopping = False
        self.out = out or sys.stdout

    def start(self, name: str, command: list[str], stop_signal: int) -> Child:
        # Their own process group: a Ctrl-C reaches only us, and we stop them in order.
        process = subprocess.Popen(command, process_group=0)
        child = Child(name, process, stop_signal)
        self.children.append(child)
        return child

    def _request_stop(self, signum, frame) -> None:
        self.stopping = True

    def wait(self, poll: float = 0.3) -> int:
        """Block until asked to stop or a child exits; stop every child; return an exit code."""
        previous = {
            s: signal.signal(s, self._request_stop) for s in (signal.SIGINT, signal.SIGTERM)
        }
        failed: Child | None = None
        try:
            while not self.stopping:
                failed = next((c for c in self.children if c.process.poll() is not None), None)
                if failed is not None:
                    break
                time.sleep(poll)
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if failed is not None:
            self.out.write(
                f"The {failed.name} exited unexpectedly (code {failed.process.returncode}).\n"
            )
            return 1
        return 0

    def stop_all(self) -> None:
        for child in self.children:
            if child.process.poll() is None:
                child.process.send_signal(child.stop_signal)
        deadline = time.monotonic() + GRACE_SECONDS
        for child in self.children:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


class Command(BaseCommand):
    help = "Serve the web app with gunicorn and run the background worker beside it."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument(
            "--bind",
            default=None,
            help="host:port to listen on (default $SMARKETING_BIND or 127.0.0.1:8000).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="Web worker processes (default $SMARKETING_WEB_WORKERS or 2).",
        )
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="Do not run the background worker here (run `smarketing worker` elsewhere).",
        )

    def handle(self, *args, **options):
        bind = options["bind"] or get_from_env("SMARKETING_BIND", "127.0.0.1:8000")
        host, port = parse_bind(bind)
        workers = options["workers"] or get_from_env("SMARKETING_WEB_WORKERS", 2)
        if not 1 <= workers <= 64:
            raise CommandError(f"The number of web workers must be 1 to 64, not {workers}.")
        try:
            pending = pending_migrations()
        except DatabaseUnreachable as exc:
            raise CommandError(str(exc)) from exc
        if pending:
            raise CommandError(not_migrated_message(pending))

        supervisor = Supervisor(self.stdout)
        supervisor.start("web server", web_command(f"{host}:{port}", workers), signal.SIGTERM)
        if not options["no_worker"]:
            supervisor.start("background worker", worker_command(), signal.SIGINT)

        shown_host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
        self.stdout.write(f"Smarketing is running at http://{shown_host}:{port}/")
        self.stdout.write(
            f"  {workers} web workers"
            + ("" if options["no_worker"] else " and the background worker")
            + f"; database: {_database_label()}. Press Ctrl-C to stop."
        )
        for line in login_lines():
            self.stdout.write(line)
        self.stdout.flush()
        code = supervisor.wait()
        self.stdout.write("Stopped.")
        if code:
            raise CommandError("Smarketing stopped because a process failed.", returncode=code)


def _database_label() -> str:
    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"SQLite at {settings['NAME']}"
    return (
        f"{connection.vendor} {settings.get('NAME', '')} on {settings.get('HOST') or 'localhost'}"
    )

"""`smarketing import`: options, plain-words output and the documented exit codes."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from smarketing.core.choices import Role
from smarketing.core.testing import make_user
from smarketing.crm.models import Contact, LifecycleTransition

GOOD = "email,first_name\nana@example.com,Ana\nbo@example.com,Bo\n"
MIXED = "email,first_name\nana@example.com,Ana\nnot-an-email,Bo\n"


def write(tmp_path, text, name="people.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def import_command(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import", *[str(a) for a in args], stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def exit_code(*args) -> tuple[int, str]:
    err = io.StringIO()
    try:
        call_command("import", *[str(a) for a in args], stdout=io.StringIO(), stderr=err)
    except CommandError as exc:
        return exc.returncode, str(exc) + err.getvalue()
    return 0, err.getvalue()


def test_success_prints_a_summary_and_exits_0(db, tmp_path):
    out, err = import_command("contacts", write(tmp_path, GOOD))
    assert "Imported 2 rows of contacts from people.csv" in out and "2 created" in out
    assert err == ""
    assert Contact.objects.count() == 2


def test_failed_rows_exit_1_and_write_the_error_report(db, tmp_path):
    report = tmp_path / "out" / "errors.csv"
    code, message = exit_code("contacts", write(tmp_path, MIXED), "--report", report)
    assert code == 1
    assert "1 rows failed and were skipped" in message and str(report) in message
    assert "line 3, email 'not-an-email': is not a valid email address" in message
    assert list(csv.reader(report.open())) == [
        ["line", "column", "value", "reason"],
        ["3", "email", "not-an-email", "is not a valid email address"],
    ]
    assert Contact.objects.count() == 1


def test_default_report_goes_to_the_data_folder(db, tmp_path, settings):
    settings.DATA_DIR = tmp_path / "data"
    code, message = exit_code("contacts", write(tmp_path, MIXED))
    assert code == 1
    [report] = (tmp_path / "data" / "imports").glob("people-errors-*.csv")
    assert str(report) in message


def test_abort_exits_3_and_writes_nothing(db, tmp_path):
    code, message = exit_code(
        "contacts", write(tmp_path, MIXED), "--on-error", "abort", "--report", tmp_path / "e.csv"
    )
    assert code == 3 and "Nothing was written" in message
    assert not Contact.objects.exists() and not LifecycleTransition.objects.exists()


def test_dry_run_exit_codes(db, tmp_path):
    assert exit_code("contacts", write(tmp_path, GOOD), "--dry-run")[0] == 0
    code, message = exit_code(
        "contacts", write(tmp_path, MIXED), "--dry-run", "--report", tmp_path / "e.csv"
    )
    assert code == 1 and "are invalid" in message
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["contacts", "missing.csv"], "There is no file"),
        (["contacts", "{file}", "--mapping", "missing.yaml"], "could not be read"),
        (["contacts", "{file}", "--user", "nobody@example.com"], "No active user"),
        (["deals", "{file}"], "No column gives the deals a name"),
        (["contacts", "{file}", "--encoding", "klingon"], "Unknown encoding"),
    ],
)
def test_unusable_input_exits_2(db, tmp_path, args, fragment):
    path = write(tmp_path, GOOD)
    code, message = exit_code(*[a.replace("{file}", str(path)) for a in args])
    assert code == 2 and fragment in message
    assert not Contact.objects.exists()


def test_usage_errors_are_argparse_errors(db, tmp_path):
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import", "leads", str(write(tmp_path, GOOD)))


def test_mapping_file_preset_user_and_create_owners(db, tmp_path):
    admin = make_user(Role.ADMIN, email="admin@acme.test")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("columns:\n  Who: owner\n")
    path = write(tmp_path, "Record ID,Email,Who\n1,ana@example.com,rep@acme.test\n")
    out, _err = import_command(
        "contacts",
        path,
        "--preset",
        "hubspot",
        "--mapping",
        mapping,
        "--create-owners",
        "--user",
        admin.email,
    )
    assert "1 user created for an unknown owner" in out
    contact = Contact.objects.get()
    assert (contact.external_id, contact.owner.email) == ("1", "rep@acme.test")
    assert contact.transitions.get().actor == admin


def test_json_report(db, tmp_path):
    out, _err = import_command("contacts", write(tmp_path, GOOD), "--json", "--dry-run")
    data = json.loads(out)
    assert data["created"] == 2 and data["dry_run"] is True and data["errors"] == []


def test_console_script_end_to_end(tmp_path):
    """The installed `smarketing` script, on its own SQLite database, with real exit codes."""
    script = Path(sys.executable).with_name("smarketing")
    if not script.exists():
        pytest.skip("the smarketing console script is not installed next to this Python")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "SMARKETING_DATA_DIR": str(tmp_path / "data"),
        "DEBUG": "false",
    }
    env.pop("SMARKETING_TESTING", None)

    def smarketing(*args):
        return subprocess.run(
            [str(script), *map(str, args)], env=env, capture_output=True, text=True, timeout=120
        )

    assert smarketing("migrate", "--noinput", "-v", "0").returncode == 0
    good = smarketing("import", "contacts", write(tmp_path, GOOD), "--no-progress")
    assert good.returncode == 0, good.stderr
    assert "2 created" in good.stdout
    mixed = smarketing(
        "import", "contacts", write(tmp_path, MIXED, "mixed.csv"), "--on-error", "abort"
    )
    assert mixed.returncode == 3
    assert "Nothing was written" in mixed.stderr and "CommandError" not in mixed.stderr
    skipped = smarketing("import", "contacts", tmp_path / "mixed.csv")
    assert skipped.returncode == 1 and "failed and were skipped" in skipped.stderr
    assert smarketing("import", "contacts", tmp_path / "nope.csv").returncode == 2
    exported = smarketing("export", "contacts", "--stage", "lead")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert sorted(r["email"] for r in rows) == ["ana@example.com", "bo@example.com"]

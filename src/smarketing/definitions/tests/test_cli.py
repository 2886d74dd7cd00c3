"""`smarketing definitions …`: every subcommand, its output and its exit codes."""

from __future__ import annotations

import copy
import io
import json
from datetime import timedelta
from unittest import mock

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from smarketing.core.choices import Role
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_user
from smarketing.definitions.actions import do_approve, do_propose, install_defaults
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.models import DefinitionVersion
from smarketing.definitions.selectors import active_version

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    """Run `smarketing definitions ARGS`: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("definitions", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def defaults():
    return install_defaults()


def stricter_stages() -> dict:
    body = copy.deepcopy(default_bodies()["stages"])
    body["mql"]["min_score"] = 70
    return body


def test_install_defaults_once():
    code, out, _ = run("install-defaults")
    assert code == 0
    assert out.strip() == "Installed icp v1, scoring v1, stages v1, sla v1."
    assert (
        run("install-defaults")[1].strip() == "Every kind already has a version; nothing installed."
    )


def test_list_and_filters(defaults, marketing_manager):
    do_propose("stages", stricter_stages(), reason="Too many weak MQLs", actor=marketing_manager)
    code, out, _ = run("list")
    assert code == 0 and len(out.strip().splitlines()) == 5
    code, out, _ = run("list", "--kind", "stages")
    lines = out.strip().splitlines()
    assert lines[0].split()[:3] == ["stages", "v2", "pending"] and lines[0].endswith(
        "Too many weak MQLs"
    )
    assert marketing_manager.email in lines[0]
    assert run("list", "--status", "rejected")[1].strip() == "No versions."
    with pytest.raises(CommandError):
        call_command("definitions", "list", "--kind", "pricing")


def test_show_the_version_in_force_or_a_number(defaults, marketing_manager):
    do_propose("stages", stricter_stages(), reason="Too many weak MQLs", actor=marketing_manager)
    code, out, _ = run("show", "stages")
    assert code == 0
    assert out.startswith("stages v1: Active\n")
    assert "min_score: 60" in out
    code, out, _ = run("show", "stages", "--version", "2")
    assert out.startswith("stages v2: Awaiting approval")
    assert "because: Too many weak MQLs" in out
    assert "Marketing approval: waiting" in out and "Takes effect: on the second approval" in out
    assert "min_score: 70" in out
    data = json.loads(run("show", "stages", "--version", "2", "--format", "json")[1])
    assert data["status"] == "pending" and data["body"]["mql"]["min_score"] == 70
    assert data["author"] == marketing_manager.email

    code, _, err = run("show", "stages", "--version", "9")
    assert code == 4 and "no version 9 of the stages definition" in err


def test_show_before_anything_is_in_force():
    code, _, err = run("show", "icp")
    assert code == 4 and "No icp definition is in force yet" in err


def test_diff_lists_text_and_rule_changes(defaults, marketing_manager):
    body = copy.deepcopy(default_bodies()["scoring"])
    body["engagement"]["rules"][0]["points"] = 50
    body["engagement"]["rules"].pop()  # unsubscribed
    do_propose("scoring", body, reason="Demos matter more", actor=marketing_manager)
    code, out, _ = run("diff", "scoring", "1", "2")
    assert code == 0
    assert out.startswith("--- scoring v1\n+++ scoring v2\n")
    assert "Rule changes:" in out
    assert "~ demo_request: points 40 → 50" in out
    assert "- unsubscribed (removed)" in out
    assert (
        run("diff", "scoring", "1", "1")[1].strip()
        == "scoring v1 and scoring v1 have the same content."
    )
    assert run("diff", "scoring", "1", "3")[0] == 4


def test_export_to_stdout_and_to_a_file(defaults, tmp_path):
    code, out, _ = run("export")
    assert code == 0 and set(yaml.safe_load(out)) == {"icp", "scoring", "stages", "sla"}
    target = tmp_path / "playbook.yaml"
    code, out, err = run("export", "--kind", "icp", "--kind", "stages", "--output", str(target))
    assert code == 0 and out == "" and str(target) in err
    assert set(yaml.safe_load(target.read_text())) == {"icp", "stages"}
    code, _, err = run("export", "--output", str(tmp_path / "missing" / "x.yaml"))
    assert code == 2 and "Cannot write" in err


def test_import_proposes_what_differs(defaults, tmp_path, marketing_manager):
    document = yaml.safe_load(run("export")[1])
    document["stages"]["mql"]["min_score"] = 70
    path = tmp_path / "defs.yaml"
    path.write_text(yaml.safe_dump(document))
    code, out, _ = run(
        "import", str(path), "--reason", "Quarterly review", "--as", marketing_manager.email
    )
    assert code == 0
    assert out.startswith("Proposed stages v2;")
    version = DefinitionVersion.objects.get(kind="stages", number=2)
    assert (version.status, version.reason, version.author) == (
        "pending",
        "Quarterly review",
        marketing_manager,
    )
    later = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    document["sla"]["sales"]["first_touch_hours"] = 2
    path.write_text(yaml.safe_dump({"sla": document["sla"]}))
    code, out, _ = run(
        "import", str(path), "--reason", "Faster", "--as", marketing_manager.email,
        "--effective-at", later,
    )  # fmt: skip
    assert code == 0 and DefinitionVersion.objects.get(kind="sla", number=2).effective_at
    path.write_text(yaml.safe_dump({"sla": default_bodies()["sla"]}))
    code, out, _ = run("import", str(path), "--reason", "x", "--as", marketing_manager.email)
    assert out.strip() == "Nothing to propose: the file matches the definitions in force."


def test_import_refusals_and_their_exit_codes(defaults, tmp_path, marketing_manager, rep):
    path = tmp_path / "bad.yaml"
    path.write_text("stages:\n  mql: {min_score: high, min_fit_grade: Z}\n")
    code, _, err = run("import", str(path), "--reason", "x", "--as", marketing_manager.email)
    assert code == 2
    assert "stages.mql.min_score: must be a number" in err
    assert "stages.mql.min_fit_grade: must be A, B, C or D" in err
    path.write_text("stages: [")
    code, _, err = run("import", str(path), "--reason", "x", "--as", marketing_manager.email)
    assert code == 2 and "not valid YAML" in err and "line 1" in err
    code, _, err = run(
        "import", str(tmp_path / "nope.yaml"), "--reason", "x", "--as", marketing_manager.email
    )
    assert code == 2 and "Cannot read" in err
    path.write_text(yaml.safe_dump({"stages": stricter_stages()}))
    code, _, err = run("import", str(path), "--reason", "x", "--as", rep.email)
    assert code == 3 and "Only marketing, the two heads and admins" in err
    code, _, err = run("import", str(path), "--reason", "x", "--as", "ghost@acme.test")
    assert code == 4 and "No active user with email ghost@acme.test" in err
    code, _, err = run(
        "import",
        str(path),
        "--reason",
        "x",
        "--as",
        marketing_manager.email,
        "--effective-at",
        "soon",
    )
    assert code == 2 and "--effective-at soon" in err
    assert not DefinitionVersion.objects.filter(status="pending").exists()


def test_approve_by_both_heads_puts_it_in_force(defaults, marketing_manager, sales_manager):
    do_propose("stages", stricter_stages(), reason="Stricter", actor=marketing_manager)
    code, out, _ = run("approve", "stages", "2", "--as", marketing_manager.email)
    assert code == 0
    assert out.strip() == "stages v2: approval recorded; waiting for the sales manager."
    code, out, _ = run("approve", "stages", "2", "--as", sales_manager.email)
    assert out.startswith("stages v2 is approved by both heads and in force now.")
    assert "Rescored 0 contacts; 0 became MQLs." in out
    assert active_version("stages").number == 2
    assert (
        AuditEntry.objects.filter(action="definition.approved.sales").get().actor == sales_manager
    )
    code, _, err = run("approve", "stages", "2", "--as", sales_manager.email)
    assert code == 5 and "only pending changes can be approved" in err


def test_approve_with_a_future_effective_time(defaults, marketing_manager, sales_manager):
    later = timezone.now() + timedelta(days=7)
    do_propose(
        "stages", stricter_stages(), reason="Next week", actor=marketing_manager, effective_at=later
    )
    run("approve", "stages", "2", "--as", sales_manager.email)
    code, out, _ = run("approve", "stages", "2", "--as", marketing_manager.email)
    assert code == 0 and f"it takes effect {later:%Y-%m-%d %H:%M} UTC" in out
    assert run("activate-due")[1].strip() == "Nothing was due."


def test_approval_by_the_wrong_role(defaults, marketing_manager, admin_user):
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    for who in (make_user(Role.SALES_REP), make_user(Role.MARKETING), admin_user):
        code, _, err = run("approve", "stages", "2", "--as", who.email)
        assert code == 3, who.role
        assert "Only a marketing manager or a sales manager" in err
    assert run("approve", "stages", "7", "--as", marketing_manager.email)[0] == 4
    assert DefinitionVersion.objects.get(kind="stages", number=2).marketing_approved_at is None


def test_reject_needs_a_comment(defaults, marketing_manager, sales_manager):
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    code, _, err = run("reject", "stages", "2", "--as", sales_manager.email, "--comment", " ")
    assert code == 2 and "comment: is required" in err
    with pytest.raises(CommandError):  # --comment is a required option
        call_command("definitions", "reject", "stages", "2", "--as", sales_manager.email)
    code, out, _ = run(
        "reject", "stages", "2", "--as", sales_manager.email, "--comment", "Reps need volume"
    )
    assert code == 0 and out.strip() == "stages v2 is rejected: Reps need volume"
    assert run("reject", "stages", "2", "--as", sales_manager.email, "--comment", "again")[0] == 5


def test_withdraw_by_the_author_only(defaults, marketing_manager, sales_manager):
    do_propose("stages", stricter_stages(), reason="x", actor=marketing_manager)
    assert run("withdraw", "stages", "2", "--as", sales_manager.email)[0] == 3
    code, out, _ = run("withdraw", "stages", "2", "--as", marketing_manager.email)
    assert code == 0 and out.strip() == "stages v2 is withdrawn."


def test_activate_due(defaults, marketing_manager, sales_manager):
    monday = timezone.now() + timedelta(days=3)
    version = do_propose(
        "stages", stricter_stages(), reason="x", actor=marketing_manager, effective_at=monday
    )
    do_approve(version, actor=marketing_manager)
    do_approve(version, actor=sales_manager)
    assert run("activate-due")[1].strip() == "Nothing was due."
    with mock.patch("django.utils.timezone.now", return_value=monday + timedelta(minutes=1)):
        code, out, _ = run("activate-due")
    assert code == 0 and out.strip() == "stages v2 is in force now."
    assert active_version("stages").pk == version.pk

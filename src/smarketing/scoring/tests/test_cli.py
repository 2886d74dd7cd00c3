"""`smarketing score …`: rescore, explain, backtest and hottest, with their exit codes."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from unittest import mock

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import do_assign_owner, do_change_stage, ingest_touch
from smarketing.definitions.actions import install_defaults
from smarketing.scoring.backtest import run_backtest
from smarketing.scoring.models import ContactScore, ScoringRun

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[int, str, str]:
    """Run `smarketing score ARGS`: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("score", *args, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), err.getvalue()


@pytest.fixture
def defaults():
    return install_defaults(now=timezone.now() - timedelta(days=200))


def good_fit(email: str):
    return make_contact(
        email=email,
        company=make_company(industry="Software", employee_count=400),
        seniority="director",
        country="United States",
        job_title="Director of Marketing",
        phone="+1 555",
    )


def touch(email: str, kind: str, at, **extra) -> None:
    ingest_touch(
        {"email": email, "type": kind, "occurred_at": at.isoformat(), **extra}, actor=SYSTEM
    )


# --- rescore ---------------------------------------------------------------------------


def test_rescore_everyone_and_print_the_summary(defaults):
    contacts = [good_fit(f"r{n}@acme.io") for n in range(3)]
    ContactScore.objects.filter(contact__in=contacts).update(fit=0, grade="D")
    code, out, _ = run("rescore", "--no-progress")
    assert code == 0
    run_row = ScoringRun.objects.get()
    assert out.startswith(f"Rescore #{run_row.pk}: 3 contacts under scoring v1, 0 touches")
    assert "0 became MQLs" in out
    assert (run_row.state, run_row.contacts_done, run_row.requested_label) == ("done", 3, "cli")
    assert set(ContactScore.objects.values_list("grade", flat=True)) == {"A"}
    data = json.loads(run("rescore", "--format", "json", "--no-progress")[1])
    assert data["contacts"] == 3 and data["passes"] == 1 and data["run"] == run_row.pk + 1


def test_rescore_listed_contacts(defaults):
    a, b = good_fit("a@acme.io"), good_fit("b@acme.io")
    ContactScore.objects.update(fit=0, grade="D")
    code, out, _ = run("rescore", "--contacts", f"{a.pk}", "--no-progress")
    assert code == 0 and ": 1 contacts under" in out
    assert ContactScore.objects.get(contact=a).grade == "A"
    assert ContactScore.objects.get(contact=b).grade == "D"


def test_rescore_refusals(defaults):
    code, _, err = run("rescore", "--contacts", "1,x")
    assert code == 2 and "--contacts takes contact ids" in err
    code, _, err = run("rescore", "--contacts", "999999")
    assert code == 2 and "contact_ids: no contact with this id" in err
    assert not ScoringRun.objects.exists()


def test_rescore_before_any_rules():
    code, _, err = run("rescore")
    assert code == 5 and "No scoring rules are in force yet" in err


def test_a_failed_rescore_is_recorded(defaults):
    good_fit("f@acme.io")
    with mock.patch("smarketing.scoring.tasks.rescore_all", side_effect=RuntimeError("disk full")):
        code, _, err = run("rescore", "--no-progress")
    assert code == 1 and "The rescore failed and nothing was written: disk full" in err
    failed = ScoringRun.objects.get()
    assert failed.state == "failed" and failed.error == "RuntimeError: disk full"


# --- explain ---------------------------------------------------------------------------


def test_explain_by_email_and_by_id(defaults):
    contact = good_fit("dana@acme.io")
    now = timezone.now()
    touch("dana@acme.io", "content_download", now - timedelta(days=30), asset="Guide")
    touch("dana@acme.io", "demo_request", now - timedelta(hours=1))
    code, out, _ = run("explain", "dana@acme.io")
    assert code == 0
    first = out.splitlines()[0]
    assert "dana@acme.io" in first
    assert "(scoring v1)" in first and "score 125.0" in first  # 80 + 40 + 5 (half of 10)
    assert "fit 80, grade A; engagement 45.0, level 2; cell A2" in out
    assert "MQL threshold 60; stage now mql" in out
    assert "+20  Industry in the ICP (Software)" in out
    assert "half-life 30 days" in out
    assert "    1     10.0      5.0  Downloaded content" in out
    assert "    1     40.0     40.0  Requested a demo" in out
    assert "stage lead → mql" in out
    by_id = run("explain", str(contact.pk))[1]
    assert by_id.splitlines()[1:] == out.splitlines()[1:]

    data = json.loads(run("explain", "dana@acme.io", "--format", "json")[1])
    assert data["contact_id"] == contact.pk and data["grade"] == "A"
    assert {r["rule_id"] for r in data["engagement_rules"]} == {"content", "demo_request"}


def test_explain_at_a_past_moment(defaults):
    good_fit("lee@acme.io")
    now = timezone.now()
    touch("lee@acme.io", "content_download", now - timedelta(days=30), asset="Guide")
    at = (now - timedelta(days=30) + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = json.loads(run("explain", "lee@acme.io", "--at", at, "--format", "json")[1])
    assert data["engagement"] == pytest.approx(10, abs=0.01)
    code, _, err = run("explain", "lee@acme.io", "--at", "last tuesday")
    assert code == 2 and "--at last tuesday is not a date" in err
    code, _, err = run("explain", "lee@acme.io", "--at", "2001-01-01")
    assert code == 4 and "No scoring rules were in force" in err


def test_explain_unknown_contact(defaults):
    code, _, err = run("explain", "nobody@acme.io")
    assert code == 4 and "No contact with id or email nobody@acme.io" in err


# --- backtest --------------------------------------------------------------------------

DEMO_ONLY = {
    "fit": {"rules": []},
    "engagement": {
        "rules": [{"id": "demo", "match": {"type": "demo_request"}, "points": 50, "once": True}]
    },
}


def history():
    """Six leads touched a month ago; three requested a demo; two of those and one other won."""
    now = timezone.now()
    plan = [
        (True, "customer"),
        (True, "customer"),
        (True, "sal"),
        (False, "customer"),
        (False, None),
        (False, None),
    ]
    for n, (demo, outcome) in enumerate(plan):
        email = f"bt{n}@acme.io"
        contact = make_contact(
            email=email,
            phone="1",
            original_source="events" if demo else "organic_search",
            created_at=now - timedelta(days=40),
        )
        touch(email, "form_submission", now - timedelta(days=31))
        if demo:
            touch(email, "demo_request", now - timedelta(days=30))
        if outcome:
            for stage in ("mql", "sal", "sql", "opportunity", "customer"):
                contact.refresh_from_db()
                if contact.lifecycle_stage != stage:
                    do_change_stage(contact, stage, actor=SYSTEM)
                if stage == outcome:
                    break


def figure(out: str, name: str) -> list[str]:
    """The draft and active values of one row of the side-by-side table."""
    for line in out.splitlines():
        if line[2:24].strip() == name:
            return line[24:].split()
    raise AssertionError(f"no row {name!r} in:\n{out}")


def test_backtest_a_bare_rule_set_next_to_the_active_one(defaults, tmp_path):
    history()
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump(DEMO_ONLY))
    stages = tmp_path / "stages.yaml"
    stages.write_text(yaml.safe_dump({"mql": {"min_score": 40}}))
    code, out, _ = run("backtest", str(draft), "--months", "3", "--stages", str(stages))
    assert code == 0, out
    assert "Backtest of 3 months" in out and "6 contacts created or touched, 3 won" in out
    assert figure(out, "MQLs")[0] == "3"
    assert figure(out, "won")[0] == "2"
    assert figure(out, "precision")[:2] == ["66.7", "%"]
    assert figure(out, "MQL threshold") == ["40", "60"]
    assert "scoring v1, stages v1" in out
    assert "By source (MQLs / accepted / SQL / won):" in out
    assert "3 / 3 / 2 / 2" in out  # events under the draft
    assert "Lift by score decile" in out


def test_backtest_json_equals_the_runner(defaults, tmp_path):
    history()
    draft = tmp_path / "draft.yaml"
    draft.write_text(yaml.safe_dump({"scoring": DEMO_ONLY, "stages": {"mql": {"min_score": 40}}}))
    code, out, _ = run("backtest", str(draft), "--months", "3", "--format", "json")
    assert code == 0
    data = json.loads(out)
    direct = run_backtest(DEMO_ONLY, draft_stages={"mql": {"min_score": 40}}, months=3)
    assert data["draft"]["mqls"] == direct.draft.mqls == 3
    assert data["draft"]["recall"] == pytest.approx(2 / 3)
    assert data["active"]["mqls"] == direct.active.mqls
    assert data["draft"]["suggested_threshold"] == direct.draft.suggested_threshold


def test_backtest_only_new_stage_criteria(defaults, tmp_path):
    history()
    draft = tmp_path / "stages.yaml"
    draft.write_text(yaml.safe_dump({"stages": {"mql": {"min_score": 5}}}))
    data = json.loads(run("backtest", str(draft), "--months", "3", "--format", "json")[1])
    assert data["draft"]["threshold"] == 5 and data["active"]["threshold"] == 60


def test_backtest_refusals(defaults, tmp_path):
    draft = tmp_path / "draft.yaml"
    draft.write_text(
        yaml.safe_dump({"engagement": {"rules": [{"match": {"type": "fax"}, "points": "many"}]}})
    )
    code, _, err = run("backtest", str(draft))
    assert code == 2 and err.startswith(f"{draft}: The scoring rule set is not valid.")
    assert "engagement.rules[0].match.type: must be one of" in err
    assert "engagement.rules[0].points: must be a number" in err
    draft.write_text(yaml.safe_dump(DEMO_ONLY))
    code, _, err = run("backtest", str(draft), "--months", "0")
    assert code == 2 and "months: must be a whole number from 1 to 24" in err
    code, _, err = run("backtest", str(tmp_path / "missing.yaml"))
    assert code == 2 and "Cannot read" in err
    draft.write_text("fit: [")
    code, _, err = run("backtest", str(draft))
    assert code == 2 and "not valid YAML" in err
    draft.write_text(yaml.safe_dump({"sla": {}}))
    code, _, err = run("backtest", str(draft))
    assert code == 2 and "neither scoring rules nor stage criteria" in err


# --- hottest ---------------------------------------------------------------------------


def test_hottest_leads(defaults, rep):
    now = timezone.now()
    good_fit("steady@acme.io")
    touch("steady@acme.io", "webinar", now - timedelta(days=20))
    rising = make_contact(email="rising@acme.io", phone="1")
    touch("rising@acme.io", "chat", now - timedelta(hours=3))
    do_assign_owner(rising, rep, actor=SYSTEM)
    code, out, _ = run("hottest")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split() == ["score", "cell", "rising", "contact"]
    assert "steady@acme.io" in lines[1]
    code, out, _ = run("hottest", "--by", "rising")
    assert "rising@acme.io" in out.splitlines()[1] and f"(owner {rep.email})" in out
    code, out, _ = run("hottest", "--owner", rep.email)
    assert code == 0
    code, _, err = run("hottest", "--owner", "ghost@acme.io")
    assert code == 4 and "No user with email ghost@acme.io" in err
    assert run("hottest", "--limit", "0")[0] == 2


def test_hottest_before_any_rules(db):
    code, _, err = run("hottest")
    assert code == 5 and "No scoring rules are in force yet" in err

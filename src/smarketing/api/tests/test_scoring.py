"""Scores over the API: explanations (now and in the past), history, hottest leads, backtests, rescoring runs."""

from __future__ import annotations

import copy
from datetime import timedelta
from unittest import mock

import pytest
from django.test import Client
from django.utils import timezone

from smarketing.api.tests.conftest import Api, error_of, fields_of, token_for
from smarketing.core.actors import SYSTEM
from smarketing.core.choices import Role
from smarketing.core.models import AuditEntry
from smarketing.core.testing import make_company, make_contact, make_user
from smarketing.crm.actions import do_assign_owner, do_change_stage, do_log_activity, ingest_touch
from smarketing.definitions.actions import install_defaults
from smarketing.definitions.defaults import default_bodies
from smarketing.scoring.backtest import run_backtest
from smarketing.scoring.models import ContactScore, ScoringRun
from smarketing.scoring.tasks import do_request_rescore, rescore_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults():
    return install_defaults()


@pytest.fixture
def reader(marketer):
    return Api(token_for(marketer, ["read"]))


@pytest.fixture
def tuner(marketer):
    """A marketer trying out rules: backtests need the write scope."""
    return Api(token_for(marketer, ["read", "write"]))


def good_fit(email: str, **extra):
    """Fit 80, grade A: software, 400 people, US director of marketing with a phone."""
    fields = {
        "email": email,
        "company": make_company(industry="Software", employee_count=400),
        "seniority": "director",
        "country": "United States",
        "job_title": "Director of Marketing",
        "phone": "+1 555",
    }
    fields.update(extra)
    return make_contact(**fields)


def touch(email: str, kind: str, at, **extra) -> None:
    ingest_touch(
        {"email": email, "type": kind, "occurred_at": at.isoformat(), **extra}, actor=SYSTEM
    )


def test_a_score_explains_itself(defaults, reader):
    contact = good_fit("dana@acme.io")
    now = timezone.now()
    touch("dana@acme.io", "content_download", now - timedelta(days=30), asset="Guide")
    touch("dana@acme.io", "email_open", now - timedelta(hours=1))

    explanation = reader.get(f"/contacts/{contact.pk}/score").json()
    assert explanation["version_label"] == "scoring v1"
    assert (explanation["fit"], explanation["grade"]) == (80, "A")
    assert {r["rule_id"]: r["points"] for r in explanation["fit_rules"]} == {
        "icp_industry": 20,
        "icp_size": 20,
        "icp_country": 10,
        "decision_maker": 20,
        "relevant_title": 10,
    }
    lines = {line["rule_id"]: line for line in explanation["engagement_rules"]}
    assert (lines["content"]["fired"], lines["content"]["awarded"]) == (1, 10)
    # Thirty days is one half-life: half of the download's ten points remain.
    assert lines["content"]["now"] == pytest.approx(5, abs=0.01)
    assert lines["email_open"]["now"] == pytest.approx(1, abs=0.01)
    assert explanation["engagement"] == pytest.approx(6, abs=0.02)
    assert explanation["total"] == pytest.approx(86, abs=0.02)
    assert explanation["cell"] == "A4" and explanation["decay"] == "half-life 30 days"
    assert explanation["mql_threshold"] == 60
    assert explanation["history"][-1]["total"] == pytest.approx(explanation["total"])


def test_the_score_at_a_past_moment(reader):
    now = timezone.now()
    install_defaults(now=now - timedelta(days=90))
    contact = good_fit("lee@acme.io")
    touch("lee@acme.io", "content_download", now - timedelta(days=30), asset="Guide")
    just_after = now - timedelta(days=30) + timedelta(minutes=1)
    then = reader.get(f"/contacts/{contact.pk}/score", {"at": just_after.isoformat()}).json()
    assert then["engagement"] == pytest.approx(10, abs=0.01)
    assert then["as_of"].startswith(just_after.isoformat()[:16])
    before_rules = (now - timedelta(days=400)).isoformat()
    missing = reader.get(f"/contacts/{contact.pk}/score", {"at": before_rules})
    assert missing.status_code == 404 and "No scoring rules" in error_of(missing)["message"]
    bad = reader.get(f"/contacts/{contact.pk}/score", {"at": "yesterday"})
    assert bad.status_code == 422 and fields_of(bad) == {"query.at"}
    assert reader.get("/contacts/999999/score").status_code == 404


def test_score_history_keeps_the_score_that_made_an_mql(defaults, reader):
    contact = good_fit("mo@acme.io")
    now = timezone.now()
    touch("mo@acme.io", "demo_request", now - timedelta(hours=2))
    do_change_stage(contact, "sal", actor=SYSTEM)
    history = reader.get(f"/contacts/{contact.pk}/score/history").json()
    assert history["count"] == 2
    mql, sal = history["items"]
    assert (mql["stage"], mql["grade"], mql["fit"]) == ("mql", "A", 80)
    assert mql["engagement"] == pytest.approx(40, abs=0.1) and mql["cell"] == "A2"
    assert mql["reason"] == "stage lead → mql"
    assert sal["stage"] == "sal"
    page = reader.get(f"/contacts/{contact.pk}/score/history", {"limit": 1, "offset": 1}).json()
    assert [s["stage"] for s in page["items"]] == ["sal"]
    assert reader.get("/contacts/999999/score/history").status_code == 404


def test_hottest_leads_by_score_and_rising(defaults, reader, rep):
    now = timezone.now()
    steady = good_fit("steady@acme.io")
    touch("steady@acme.io", "content_download", now - timedelta(days=20), asset="A")
    touch("steady@acme.io", "webinar", now - timedelta(days=20))
    rising = make_contact(email="rising@acme.io", phone="1")
    touch("rising@acme.io", "chat", now - timedelta(hours=3))
    worked = good_fit("worked@acme.io")
    touch("worked@acme.io", "content_download", now - timedelta(days=1), asset="B")
    do_log_activity(worked, kind="call", actor=SYSTEM, rep=rep)
    do_assign_owner(rising, rep, actor=SYSTEM)

    by_score = reader.get("/scores/hottest").json()
    assert by_score["by"] == "score"
    emails = [lead["contact"]["email"] for lead in by_score["items"]]
    assert emails[0] == "steady@acme.io" and "worked@acme.io" not in emails
    assert by_score["items"][0]["cell"].startswith("A")

    by_rise = reader.get("/scores/hottest", {"by": "rising", "days": 7}).json()
    assert by_rise["items"][0]["contact"]["email"] == "rising@acme.io"
    # Ten points three hours ago, under a 30-day half-life.
    assert by_rise["items"][0]["rise"] == pytest.approx(10 * 2 ** (-3 / 24 / 30), abs=1e-3)
    assert by_rise["items"][0]["owner"]["email"] == rep.email

    everyone = reader.get("/scores/hottest", {"unworked": "false"}).json()
    assert "worked@acme.io" in [lead["contact"]["email"] for lead in everyone["items"]]
    other_rep = make_user(Role.SALES_REP)
    do_assign_owner(steady, other_rep, actor=SYSTEM)
    mine = reader.get("/scores/hottest", {"owner": rep.pk}).json()
    assert "steady@acme.io" not in [lead["contact"]["email"] for lead in mine["items"]]
    assert fields_of(reader.get("/scores/hottest", {"by": "loudest"})) == {"query.by"}
    assert fields_of(reader.get("/scores/hottest", {"owner": 999999})) == {"query.owner"}


def backtest_history():
    """Six leads touched a month ago; three requested a demo, two of those and one other won."""
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
        contact = make_contact(email=email, phone="1", created_at=now - timedelta(days=40))
        touch(email, "form_submission", now - timedelta(days=31))
        if demo:
            touch(email, "demo_request", now - timedelta(days=30))
        if outcome:
            for stage in ("mql", "sal", "sql", "opportunity", "customer"):
                if contact.lifecycle_stage != stage:
                    do_change_stage(contact, stage, actor=SYSTEM)
                    contact.refresh_from_db()
                if stage == outcome:
                    break


DEMO_ONLY = {
    "fit": {"rules": []},
    "engagement": {
        "rules": [{"id": "demo", "match": {"type": "demo_request"}, "points": 50, "once": True}]
    },
}


def test_backtest_draft_next_to_active(defaults, tuner):
    backtest_history()
    response = tuner.post(
        "/scoring/backtest",
        {"scoring": DEMO_ONLY, "stages": {"mql": {"min_score": 40}}, "months": 3},
    )
    assert response.status_code == 200, response.content
    result = response.json()
    assert (result["months"], result["cohort"], result["won_in_cohort"]) == (3, 6, 3)
    draft = result["draft"]
    assert (draft["threshold"], draft["mqls"], draft["accepted"], draft["won"]) == (40, 3, 3, 2)
    assert draft["precision"] == pytest.approx(2 / 3)
    assert draft["recall"] == pytest.approx(2 / 3)
    assert sum(d["contacts"] for d in draft["deciles"]) == 6
    assert result["active"]["label"] == "scoring v1, stages v1"
    # The API answers what the runner computes, figure for figure.
    direct = run_backtest(DEMO_ONLY, draft_stages={"mql": {"min_score": 40}}, months=3)
    assert draft["mqls"] == direct.draft.mqls and result["active"]["mqls"] == direct.active.mqls
    assert draft["suggested_threshold"] == direct.draft.suggested_threshold


def test_backtest_refuses_bad_drafts_with_paths(defaults, tuner):
    broken = copy.deepcopy(DEMO_ONLY)
    broken["engagement"]["rules"][0]["match"] = {"type": "carrier_pigeon"}
    broken["engagement"]["decay"] = {"half_life_days": -1}
    refused = tuner.post("/scoring/backtest", {"scoring": broken})
    assert refused.status_code == 422
    assert fields_of(refused) == {
        "body.scoring.engagement.rules[0].match.type",
        "body.scoring.engagement.decay.half_life_days",
    }
    refused = tuner.post(
        "/scoring/backtest",
        {"scoring": DEMO_ONLY, "stages": {"mql": {"min_score": 40, "min_fit_grade": "A"}}},
    )
    assert fields_of(refused) == {
        "body.stages.mql.min_fit_grade"
    }  # no fit rules: A is out of reach
    assert fields_of(tuner.post("/scoring/backtest", {"months": 0})) == {"body.months"}
    assert fields_of(tuner.post("/scoring/backtest", {"months": 25})) == {"body.months"}


def test_backtest_without_any_rules(tuner):
    refused = tuner.post("/scoring/backtest", {})
    assert refused.status_code == 422 and fields_of(refused) == {"body.scoring"}


@pytest.fixture
def admin_api(admin_user):
    return Api(token_for(admin_user, ["admin"]))


def test_rescore_runs_in_the_background_and_reports(
    defaults, admin_api, admin_user, django_capture_on_commit_callbacks
):
    contacts = [good_fit(f"r{n}@acme.io") for n in range(3)]
    ContactScore.objects.filter(contact__in=contacts).update(fit=0, grade="D")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_api.post("/scoring/rescore", {})
    assert response.status_code == 202, response.content
    run = response.json()
    assert run["state"] == "queued" and run["scope"] == "all" and run["contacts_total"] == 3
    assert run["requested_by"]["email"] == admin_user.email

    done = admin_api.get(f"/scoring/runs/{run['id']}").json()
    assert done["state"] == "done" and done["attempts"] == 1
    assert (done["contacts_done"], done["contacts_total"]) == (3, 3)
    assert done["version"] == "scoring v1" and done["error"] == ""
    assert done["result"]["contacts"] == 3 and done["result"]["passes"] == 1
    assert done["started_at"] <= done["finished_at"]
    assert set(ContactScore.objects.values_list("grade", flat=True)) == {"A"}
    assert AuditEntry.objects.filter(action="scoring.rescore_requested").count() == 1

    listed = admin_api.get("/scoring/runs").json()
    assert listed["count"] == 1 and listed["items"][0]["id"] == run["id"]
    assert admin_api.get("/scoring/runs/999999").status_code == 404


def test_rescore_of_listed_contacts(defaults, admin_api, django_capture_on_commit_callbacks):
    a, b = good_fit("a@acme.io"), good_fit("b@acme.io")
    ContactScore.objects.update(fit=0, grade="D")
    with django_capture_on_commit_callbacks(execute=True):
        run = admin_api.post("/scoring/rescore", {"contact_ids": [a.pk, a.pk]}).json()
    assert run["scope"] == "1"
    assert admin_api.get(f"/scoring/runs/{run['id']}").json()["contacts_done"] == 1
    assert ContactScore.objects.get(contact=a).grade == "A"
    assert ContactScore.objects.get(contact=b).grade == "D"
    unknown = admin_api.post("/scoring/rescore", {"contact_ids": [b.pk, 999999]})
    assert unknown.status_code == 422 and fields_of(unknown) == {"body.contact_ids"}
    assert error_of(unknown)["problems"][0]["value"] == 999999
    assert admin_api.post("/scoring/rescore", {"contact_ids": [0]}).status_code == 422
    assert ScoringRun.objects.count() == 1


def test_rescore_needs_the_admin_scope_and_a_role_that_may(defaults, marketing_manager, rep):
    writer = Api(token_for(marketing_manager, ["read", "write"]))
    refused = writer.post("/scoring/rescore", {})
    assert refused.status_code == 403 and error_of(refused)["code"] == "insufficient_scope"
    assert writer.get("/scoring/runs").status_code == 200

    client = Client()
    client.force_login(rep)
    rep_session = Api(client=client)
    assert error_of(rep_session.post("/scoring/rescore", {}))["code"] == "insufficient_scope"

    client = Client()
    client.force_login(marketing_manager)
    head_session = Api(client=client)
    assert head_session.post("/scoring/rescore", {}).status_code == 202
    assert ScoringRun.objects.count() == 1


def test_rescore_before_any_rules_is_a_conflict(admin_api):
    refused = admin_api.post("/scoring/rescore", {})
    assert refused.status_code == 409 and error_of(refused)["code"] == "conflict"
    assert not ScoringRun.objects.exists()


def test_a_failed_attempt_is_recorded_and_retried(
    defaults, admin_api, django_capture_on_commit_callbacks
):
    good_fit("f@acme.io")
    with (
        mock.patch("smarketing.scoring.tasks.rescore_all", side_effect=RuntimeError("disk full")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        run = admin_api.post("/scoring/rescore", {}).json()
    waiting = admin_api.get(f"/scoring/runs/{run['id']}").json()
    # Huey schedules the retry a minute later; until then the run waits with its error.
    assert waiting["state"] == "queued" and waiting["attempts"] == 1
    assert waiting["error"] == "RuntimeError: disk full (trying again in 60 seconds)"

    with (
        mock.patch("smarketing.scoring.tasks.rescore_all", side_effect=RuntimeError("disk full")),
        pytest.raises(RuntimeError),
    ):
        rescore_run.call_local(run["id"])  # the last try: no retries left
    failed = admin_api.get(f"/scoring/runs/{run['id']}").json()
    assert failed["state"] == "failed" and failed["attempts"] == 2
    assert failed["error"] == "RuntimeError: disk full" and failed["finished_at"]

    rescore_run.call_local(run["id"])  # a finished run is never run again
    assert admin_api.get(f"/scoring/runs/{run['id']}").json()["attempts"] == 2


def test_scores_read_scope(defaults, marketing_manager):
    contact = good_fit("s@acme.io")
    ingest = Api(token_for(marketing_manager, ["ingest"]))
    for path in (
        f"/contacts/{contact.pk}/score",
        f"/contacts/{contact.pk}/score/history",
        "/scores/hottest",
        "/scoring/runs",
    ):
        assert error_of(ingest.get(path))["code"] == "insufficient_scope", path
    assert error_of(ingest.post("/scoring/backtest", {}))["code"] == "insufficient_scope"
    reader = Api(token_for(marketing_manager, ["read"]))
    assert error_of(reader.post("/scoring/backtest", {}))["code"] == "insufficient_scope"
    assert Api().get(f"/contacts/{contact.pk}/score").status_code == 401


def test_run_list_query_budget(defaults, admin_api, django_assert_max_num_queries):
    admin_api.get("/scoring/runs")
    for _ in range(12):
        do_request_rescore(make_user(Role.ADMIN), enqueue=False)
    with django_assert_max_num_queries(3):  # token, count, page (people and version joined)
        response = admin_api.get("/scoring/runs", {"limit": 200})
    assert response.json()["count"] == 12


def test_default_rules_backtest_over_the_api(defaults, tuner):
    backtest_history()
    result = tuner.post(
        "/scoring/backtest", {"scoring": default_bodies()["scoring"], "months": 2}
    ).json()
    assert result["draft"]["label"] == "draft" and result["active"] is not None
    assert result["draft"]["mqls"] == result["active"]["mqls"]

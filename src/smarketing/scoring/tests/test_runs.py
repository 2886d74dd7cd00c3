"""Rescoring runs: queued after commit, progress visible while they write, safe while touches arrive and rules change."""

from __future__ import annotations

import copy

import pytest

from smarketing.core.actors import SYSTEM
from smarketing.core.errors import NotAllowed
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import ingest_touch
from smarketing.definitions.actions import do_approve, do_propose, install_defaults
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.selectors import active_version
from smarketing.scoring import tasks
from smarketing.scoring.bulk import rescore_all as real_rescore_all
from smarketing.scoring.models import ContactScore, ScoringRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def defaults():
    return install_defaults()


def good_fit(email: str):
    return make_contact(
        email=email,
        company=make_company(industry="Software", employee_count=400),
        seniority="director",
        country="United States",
        job_title="Director of Marketing",
        phone="+1 555",
    )


def test_the_worker_runs_a_queued_run_once_committed(defaults, django_capture_on_commit_callbacks):
    good_fit("a@acme.io")
    with django_capture_on_commit_callbacks() as callbacks:
        run = tasks.do_request_rescore(SYSTEM)
        # Not before the row is committed: the worker would not find it.
        assert ScoringRun.objects.get(pk=run.pk).state == "queued"
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: huey runs the task at once in tests
    run.refresh_from_db()
    assert (run.state, run.attempts, run.contacts_done, run.contacts_total) == ("done", 1, 1, 1)
    assert run.version == active_version("scoring") and run.requested_label == "system"
    assert run.result["contacts"] == 1 and run.result["promoted"] == 0


def test_progress_is_visible_while_the_run_writes(defaults, monkeypatch):
    for n in range(3):
        good_fit(f"p{n}@acme.io")
    run = tasks.do_request_rescore(SYSTEM, enqueue=False)
    seen = []

    def rescore_all(rule_set, **kwargs):
        # What a reader (the API) sees between two batches of the write.
        kwargs["progress"](2)
        row = ScoringRun.objects.get(pk=run.pk)
        seen.append((row.state, tasks.contacts_done_of(row)))
        return real_rescore_all(rule_set, **kwargs)

    monkeypatch.setattr(tasks, "rescore_all", rescore_all)
    shown = []
    tasks.run_rescore(run, progress=shown.append)
    assert seen == [("running", 2)]
    assert shown == [2]
    assert (run.state, run.contacts_done) == ("done", 3)
    assert tasks.contacts_done_of(run) == 3


def test_rules_activated_mid_run_are_applied_by_a_second_pass(
    defaults, marketing_manager, sales_manager, monkeypatch
):
    contact = good_fit("m@acme.io")
    old = active_version("scoring")
    body = copy.deepcopy(default_bodies()["scoring"])
    body["fit"]["rules"][0]["points"] = 35  # icp_industry
    calls = []

    def rescore_all(rule_set, **kwargs):
        calls.append(rule_set.version_id)
        if len(calls) == 1:
            # New rules take effect (and rescore everyone) while this run computes with the
            # old ones; its write then lands over theirs.
            version = do_propose("scoring", body, reason="Industry first", actor=marketing_manager)
            do_approve(version, actor=marketing_manager)
            do_approve(version, actor=sales_manager)
            assert ContactScore.objects.get(contact=contact).fit == 95
        return real_rescore_all(rule_set, **kwargs)

    monkeypatch.setattr(tasks, "rescore_all", rescore_all)
    run = tasks.do_request_rescore(SYSTEM, enqueue=False)
    tasks.run_rescore(run)
    new = active_version("scoring")
    assert new.number == 2 and calls == [old.pk, new.pk]
    assert run.result["passes"] == 2 and run.version == new
    score = ContactScore.objects.get(contact=contact)
    assert (score.version_id, score.fit) == (new.pk, 95)


def test_only_admins_and_heads_ask_for_a_rescore(defaults, rep, marketer, marketing_manager):
    for person in (rep, marketer):
        with pytest.raises(NotAllowed):
            tasks.do_request_rescore(person)
    assert (
        tasks.do_request_rescore(marketing_manager, enqueue=False).requested_by == marketing_manager
    )
    assert ScoringRun.objects.count() == 1


def test_a_touch_ingested_while_the_run_computes_is_not_lost(defaults, monkeypatch):
    """The pass reads, a touch arrives and is scored, the pass writes its older view: caught up."""
    from smarketing.scoring import bulk

    good_fit("busy@acme.io")
    quiet = good_fit("quiet@acme.io")
    real_compute = bulk.compute_scores
    arrived = []

    def compute_then_a_touch_arrives(rule_set, contact_ids=None):
        computed = real_compute(rule_set, contact_ids)
        if not arrived:
            ingest_touch({"email": "busy@acme.io", "type": "demo_request"}, actor=SYSTEM)
            arrived.append(True)
        return computed

    monkeypatch.setattr(bulk, "compute_scores", compute_then_a_touch_arrives)
    run = tasks.do_request_rescore(SYSTEM, enqueue=False)
    tasks.run_rescore(run)
    busy = ContactScore.objects.get(contact__email="busy@acme.io")
    assert busy.eng_ref == pytest.approx(40)  # the demo request counts
    assert ContactScore.objects.get(contact=quiet).eng_ref == 0
    assert run.result["caught_up"] >= 1 and run.result["passes"] == 1

"""Scores follow the CRM: touches, profile edits, stage changes and rule-set activations."""

import threading
from datetime import timedelta

import pytest
import yaml
from django.db import connection
from django.utils import timezone

from smarketing.core.actors import SYSTEM
from smarketing.core.testing import make_company, make_contact
from smarketing.crm.actions import do_update_contact, ingest_touch, ingest_touches
from smarketing.crm.models import Contact
from smarketing.definitions.actions import do_approve, do_propose, install_defaults
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.selectors import rule_set_in_force
from smarketing.scoring.bulk import rescore_all
from smarketing.scoring.models import ContactScore, ScoreSnapshot


def good_fit_contact(**extra):
    company = make_company(industry="Software", employee_count=400)
    fields = {
        "company": company,
        "seniority": "director",
        "country": "United States",
        "job_title": "Director of Marketing",
        "phone": "+1 555",
    }
    fields.update(extra)
    return make_contact(**fields)


@pytest.mark.django_db
def test_touches_promote_a_good_fit_lead_to_mql_with_its_score_on_record():
    install_defaults()
    contact = good_fit_contact(email="dana@acme.io")
    score = ContactScore.objects.get(contact=contact)
    assert (score.fit, score.grade) == (
        80,
        "A",
    )  # 20 industry + 20 size + 10 country + 20 director + 10 title
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"  # fit alone is not interest
    ingest_touch(
        {"email": "dana@acme.io", "type": "page_view", "url": "https://x.io/pricing"}, actor=SYSTEM
    )
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"  # 11 engagement < 15
    ingest_touch(
        {"email": "dana@acme.io", "type": "content_download", "asset": "RevOps guide"}, actor=SYSTEM
    )
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "mql"
    promotion = contact.transitions.last()
    assert (promotion.from_stage, promotion.to_stage, promotion.rule, promotion.actor) == (
        "lead",
        "mql",
        "scoring v1",
        None,
    )
    assert promotion.reason.startswith("score 101 ≥ 60, fit grade A (scoring v1, stages v1)")
    snapshot = ScoreSnapshot.objects.get(contact=contact, stage="mql")
    assert (snapshot.fit, round(snapshot.engagement), snapshot.cell) == (80, 21, "A3")


@pytest.mark.django_db
def test_poor_fit_stays_a_lead_however_engaged():
    install_defaults()
    contact = make_contact(email="kid@gmail.com", job_title="Student")
    ingest_touches(
        [
            {"email": "kid@gmail.com", "type": "demo_request"},
            {"email": "kid@gmail.com", "type": "webinar"},
        ],
        actor=SYSTEM,
    )
    score = ContactScore.objects.get(contact=contact)
    assert score.grade == "D" and score.fit == -15 - 30 - 5
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "lead"


@pytest.mark.django_db
def test_profile_edit_rescores_fit_and_can_promote():
    install_defaults()
    contact = make_contact(email="lee@acme.io", phone="1")
    ingest_touch({"email": "lee@acme.io", "type": "demo_request"}, actor=SYSTEM)
    assert ContactScore.objects.get(contact=contact).grade == "D"
    do_update_contact(
        contact,
        {
            "seniority": "vp",
            "country": "United Kingdom",
            "job_title": "VP Sales",
            "company": make_company(industry="Healthcare", employee_count=80),
        },
        actor=SYSTEM,
    )
    score = ContactScore.objects.get(contact=contact)
    assert (score.fit, score.grade) == (80, "A")
    assert Contact.objects.get(pk=contact.pk).lifecycle_stage == "mql"


@pytest.mark.django_db
def test_activating_new_rules_rescores_everyone_and_is_idempotent(marketing_manager, sales_manager):
    install_defaults()
    a = good_fit_contact(email="a@acme.io")
    b = make_contact(email="b@acme.io", phone="1")
    ingest_touch({"email": "a@acme.io", "type": "email_click"}, actor=SYSTEM)
    ingest_touch({"email": "b@acme.io", "type": "email_click"}, actor=SYSTEM)
    body = yaml.safe_load(yaml.safe_dump(default_bodies()["scoring"]))
    for rule in body["engagement"]["rules"]:
        if rule["id"] == "email_click":
            rule["points"] = 20
            rule["cap"]["points"] = 40
    version = do_propose(
        "scoring", body, reason="Email clicks signal intent", actor=marketing_manager
    )
    do_approve(version, actor=marketing_manager)
    version = do_approve(version, actor=sales_manager)
    assert version.status == "active"
    assert (
        version.activation_summary["contacts"] == 2 and version.activation_summary["promoted"] == 1
    )
    assert Contact.objects.get(pk=a.pk).lifecycle_stage == "mql"
    assert Contact.objects.get(pk=b.pk).lifecycle_stage == "lead"
    assert set(ContactScore.objects.values_list("version_id", flat=True)) == {version.pk}
    before = list(
        ContactScore.objects.order_by("pk").values(
            "fit", "eng_ref", "eng_ref_at", "cap_state", "last_touch_at"
        )
    )
    rescore_all(rule_set_in_force())
    after = list(
        ContactScore.objects.order_by("pk").values(
            "fit", "eng_ref", "eng_ref_at", "cap_state", "last_touch_at"
        )
    )
    assert after == before


@pytest.mark.django_db
def test_old_touch_arriving_late_is_scored_exactly():
    install_defaults()
    contact = make_contact(email="late@acme.io", phone="1")
    now = timezone.now()
    ingest_touch(
        {"email": "late@acme.io", "type": "demo_request", "occurred_at": now.isoformat()},
        actor=SYSTEM,
    )
    ingest_touch(
        {
            "email": "late@acme.io",
            "type": "demo_request",
            "occurred_at": (now - timedelta(days=30)).isoformat(),
        },
        actor=SYSTEM,
    )
    score = ContactScore.objects.get(contact=contact)
    # Once-only: the older request is the one that counts, decayed by one half-life.
    assert score.engagement(rule_set_in_force(), now) == pytest.approx(20, abs=1e-6)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_ingestion_for_one_contact_loses_no_points():
    install_defaults()
    make_contact(email="busy@acme.io", phone="1")
    errors = []

    def send(n):
        try:
            for i in range(10):
                ingest_touch(
                    {
                        "email": "busy@acme.io",
                        "type": "email_click",
                        "external_id": f"t{n}-{i}",
                        "occurred_at": "2020-01-01T00:00:00Z",
                    },
                    actor=SYSTEM,
                )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # 40 clicks at the same moment, capped at 15 per week, with no decay between them.
    score = ContactScore.objects.get(contact__email="busy@acme.io")
    assert score.eng_ref == pytest.approx(15)
    assert score.cap_state["caps"]["email_click"][1] == 15


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL"
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_uncapped_points_all_count():
    from smarketing.definitions.testing import put_in_force

    put_in_force(
        "scoring",
        {
            "fit": {"rules": []},
            "engagement": {
                "rules": [{"id": "click", "match": {"type": "email_click"}, "points": 1}]
            },
        },
    )
    make_contact(email="many@acme.io")
    barrier = threading.Barrier(4)

    def send(n):
        try:
            barrier.wait()
            for i in range(15):
                ingest_touch(
                    {
                        "email": "many@acme.io",
                        "type": "email_click",
                        "external_id": f"u{n}-{i}",
                        "occurred_at": "2020-01-01T00:00:00Z",
                    },
                    actor=SYSTEM,
                )
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert ContactScore.objects.get(contact__email="many@acme.io").eng_ref == 60

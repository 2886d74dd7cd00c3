"""The demo's hand-off and SLA rows obey what routing, reviews and the SLA clocks keep live.

One company of 600 contacts, generated once for the module and rolled back afterwards.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from django.db.models import Count, Q
from django.test import override_settings

from smarketing.core.actors import SYSTEM
from smarketing.core.models import User
from smarketing.crm.choices import CONTACT_ATTEMPT_KINDS, ActivityKind, Stage
from smarketing.crm.models import Activity, Contact, LifecycleTransition
from smarketing.definitions.selectors import active_version
from smarketing.demo import DEMO_DOMAIN, generate
from smarketing.demo import catalogue as cat
from smarketing.demo.clocks import CLOCK_WEEKS, due_times
from smarketing.demo.desk import SalesDesk
from smarketing.handoff.choices import Availability, Decision, Method
from smarketing.handoff.models import Assignment, LeadReview, RepProfile, RoutingRule, Team
from smarketing.sla.actions import start_clock
from smarketing.sla.choices import COMMITMENTS, RUNNING, State
from smarketing.sla.compliance import run_compliance
from smarketing.sla.models import SlaClock, SlaEvent
from smarketing.sla.terms import SalesTerms
from smarketing.sla.working_time import WorkingCalendar
from smarketing.web.views.handoff import queue_rows

NOW = datetime(2025, 6, 2, tzinfo=UTC)
CONTACTS = 600
SOFIA = f"sofia.martinez@{DEMO_DOMAIN}"
TOUCH_KINDS = {*CONTACT_ATTEMPT_KINDS, ActivityKind.MEETING}
HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def company(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=HASHERS),
        transaction.atomic(),
    ):
        yield generate(contacts=CONTACTS, seed=11, now=NOW)
        transaction.set_rollback(True)


pytestmark = pytest.mark.django_db


def _terms() -> SalesTerms:
    return SalesTerms.of(active_version("sla").body["sales"])


def test_teams_reps_and_rules_are_set_up_through_the_actions(company):
    teams = {t.name: t for t in Team.objects.all()}
    assert set(teams) == {"Inside sales EMEA", "Inside sales Americas"}
    emea = teams["Inside sales EMEA"]
    assert emea.calendar["timezone"] == "Europe/Madrid"
    assert emea.calendar["holidays"]["2025-12-25"] == "Natividad del Señor"
    assert teams["Inside sales Americas"].calendar["holidays"]["2025-07-04"] == "Independence Day"
    assert {t.manager.email for t in teams.values()} == {f"sales.manager@{DEMO_DOMAIN}"}
    profiles = RepProfile.objects.select_related("user")
    assert profiles.count() == 5
    assert all(1 <= p.capacity <= 3 and p.team_id for p in profiles)
    away = {p.user.email: p for p in profiles if p.availability != Availability.AVAILABLE}
    assert {p.availability for p in away.values()} == {"paused", "out_of_office"}
    ooo = next(p for p in away.values() if p.availability == "out_of_office")
    assert ooo.away_until == NOW + timedelta(days=7)
    rules = list(RoutingRule.objects.order_by("position"))
    assert [r.kind for r in rules][:2] == ["account_owner", "queue"]
    assert rules[-1].kind == "round_robin" and rules[-1].conditions == {}
    assert {r.position for r in rules} == set(range(1, len(rules) + 1))


def test_one_current_assignment_per_contact_and_it_is_the_latest(company):
    latest = {}
    for a in Assignment.objects.order_by("assigned_at", "id"):
        latest[a.contact_id] = a.pk
    current = list(Assignment.objects.current().values_list("contact_id", "pk"))
    assert len(current) == len({c for c, _ in current}) == len(latest)
    assert dict(current) == latest


def test_assignments_name_a_rule_and_the_rep_team_of_their_time(company):
    teams = dict(RepProfile.objects.values_list("user_id", "team_id"))
    rules = dict(RoutingRule.objects.values_list("pk", "name"))
    assignments = Assignment.objects.all()
    assert assignments.filter(method=Method.ACCOUNT_OWNER).exists()
    assert assignments.filter(method=Method.TERRITORY).exists()
    assert assignments.filter(method=Method.MANUAL).exists()
    for a in assignments:
        assert a.team_id == (teams[a.rep_id] if a.rep_id else None)
        if a.method == Method.MANUAL:
            assert a.rule_id is None and a.actor.email == f"sales.manager@{DEMO_DOMAIN}"
        else:
            assert rules[a.rule_id] == a.rule_name, a
        if a.rep_id is None:
            assert a.method == Method.QUEUE


def test_every_review_matches_a_transition_out_of_mql(company):
    reviews = list(LeadReview.objects.select_related("contact", "reason", "assignment"))
    assert len(reviews) > 50
    assert {r.decision for r in reviews} == {Decision.ACCEPTED, Decision.REJECTED}
    for review in reviews:
        move = LifecycleTransition.objects.get(
            contact=review.contact_id, from_stage=Stage.MQL, at=review.decided_at
        )
        assert move.actor_id == review.rep_id
        if review.decision == Decision.ACCEPTED:
            assert move.to_stage == Stage.SAL and review.reason is None
        else:
            target = Stage.LEAD if review.outcome == "nurture" else Stage.DISQUALIFIED
            assert move.to_stage == target
            assert review.outcome == review.reason.outcome
            assert move.reason == f"rejected: {review.reason.label} — {review.note}"
        mql = (
            LifecycleTransition.objects.filter(
                contact=review.contact_id, to_stage=Stage.MQL, at__lte=review.decided_at
            )
            .order_by("-at")
            .first()
        )
        assert review.mql_at == mql.at
        assert review.original_source == review.contact.original_source
        assert review.campaign_id == review.contact.first_campaign_id
        assert review.assignment.assigned_at <= review.decided_at
        assert review.assignment.contact_id == review.contact_id
    # ...and every transition out of MQL to a decision has its review.
    decisions = LifecycleTransition.objects.filter(
        from_stage=Stage.MQL, to_stage__in=[Stage.SAL, Stage.LEAD, Stage.DISQUALIFIED]
    )
    assert decisions.count() == len(reviews)


def test_rejection_reasons_follow_the_source():
    # Given the demo's reason weights, when a social lead and a paid search lead are rejected,
    # then students are likelier from social and not-ICP likelier from paid search.
    def share(source: str, code: str) -> float:
        boost = cat.REJECTION_BY_SOURCE.get(source, {})
        weights = {c: w * boost.get(c, 1.0) for c, w in cat.REJECTION_WEIGHTS.items()}
        return weights[code] / sum(weights.values())

    assert share("social", "student_job_seeker") > 3 * share("organic_search", "student_job_seeker")
    assert share("paid_search", "not_icp") > 2 * share("organic_search", "not_icp")


def test_clocks_start_with_mql_assignments_of_the_last_eight_weeks(company):
    since = NOW - timedelta(weeks=CLOCK_WEEKS)
    clocks = SlaClock.objects.select_related("assignment")
    assert clocks.count() > 40
    for clock in clocks:
        a = clock.assignment
        assert a.rep_id == clock.rep_id and a.assigned_at == clock.started_at >= since
        assert clock.team_id == a.team_id
    routed = Assignment.objects.filter(assigned_at__gte=since, rep__isnull=False).exclude(
        method=Method.MANUAL, contact__transitions__to_stage=Stage.SAL
    )
    assert (
        routed.filter(sla_clock__isnull=True, method__in=["territory", "account_owner"]).count()
        == 0
    )


def test_due_times_equal_the_working_calendar_of_the_rep(company):
    terms = _terms()
    clocks = list(SlaClock.objects.all())
    for clock in clocks:
        calendar = WorkingCalendar.from_spec(clock.calendar)
        team = Team.objects.get(pk=clock.team_id)
        assert clock.calendar == team.calendar
        windows = {
            "first_touch": timedelta(hours=4),
            "attempts": timedelta(seconds=calendar.weekly_seconds / 5) * 10,
            "decision": timedelta(hours=24),
        }
        for c, window in windows.items():
            due = calendar.add(clock.started_at, window)
            soon = max(clock.started_at, calendar.subtract(due, terms.soon_before(window)))
            assert getattr(clock, f"{c}_due_at") == due, (clock.pk, c)
            assert getattr(clock, f"{c}_soon_at") == soon, (clock.pk, c)


def test_a_sample_of_clocks_matches_start_clock(company):
    for clock in SlaClock.objects.order_by("id")[::15]:
        # Given the same assignment made live, when start_clock runs, then it computes the same.
        twin = Assignment.objects.create(
            contact_id=clock.contact_id,
            rep_id=clock.rep_id,
            team_id=clock.team_id,
            method=Method.MANUAL,
            assigned_at=clock.started_at,
            current=False,
        )
        live = start_clock(twin, actor=SYSTEM)
        for field in ("team_id", "terms_id", "calendar", "attempts_required"):
            assert getattr(live, field) == getattr(clock, field), field
        for c in COMMITMENTS:
            for part in ("due_at", "soon_at"):
                assert getattr(live, f"{c}_{part}") == getattr(clock, f"{c}_{part}"), (c, part)


def test_due_times_vectorised_equal_the_scalar_ones():
    desk = SalesDesk.plan(["sofia.martinez", "liam.carter"], NOW)
    terms = SalesTerms.of(
        {"first_touch_hours": 4, "attempts": 6, "attempts_within_days": 10, "decision_hours": 24}
    )
    # Friday 17:55 in Madrid before a long weekend, midnight, a Sunday, a DST change.
    starts = [
        datetime(2025, 4, 16, 15, 55, tzinfo=UTC),
        datetime(2025, 3, 30, 0, 30, tzinfo=UTC),
        datetime(2025, 6, 1, 9, 0, tzinfo=UTC),
        datetime(2025, 5, 30, 12, 59, 59, tzinfo=UTC),
    ]
    for team in desk.teams.values():
        calendar = team.working
        got = due_times(calendar, terms, starts)
        for c, window in (("first_touch", timedelta(hours=4)), ("decision", timedelta(hours=24))):
            for n, start in enumerate(starts):
                due = calendar.add(start, window)
                assert got[c][0][n] == due
                assert got[c][1][n] == max(start, calendar.subtract(due, window / 4))


def _touches(contact_id: int, start: datetime, end: datetime | None) -> list[datetime]:
    rows = Activity.objects.filter(
        contact=contact_id, kind__in=TOUCH_KINDS, occurred_at__gte=start
    ).order_by("occurred_at")
    if end is not None:
        rows = rows.filter(occurred_at__lte=end)
    return list(rows.values_list("occurred_at", flat=True))


def test_clock_states_follow_the_activities_and_the_decision(company):
    reviews = defaultdict(list)
    for review in LeadReview.objects.order_by("decided_at"):
        reviews[review.assignment_id].append(review)
    for clock in SlaClock.objects.all():
        end = clock.closed_at or NOW
        touches = _touches(clock.contact_id, clock.started_at, end)
        calendar = WorkingCalendar.from_spec(clock.calendar)
        assert clock.attempts_made == len(touches)
        if touches:
            assert clock.first_touch_at == touches[0]
            expected = State.MET if touches[0] <= clock.first_touch_due_at else State.BREACHED
            assert clock.first_touch_state == expected
            assert clock.speed_to_lead_seconds == pytest.approx(
                calendar.between(clock.started_at, touches[0]).total_seconds()
            )
        else:
            assert clock.first_touch_at is None and clock.speed_to_lead_seconds is None
        decided = reviews.get(clock.assignment_id)
        if decided and decided[0].decided_at <= end:
            if decided[0].decided_at <= clock.decision_due_at:
                assert clock.decided_at == decided[0].decided_at
                assert clock.decision_state == State.MET
            else:
                # The sweep breached it at the due time; a late decision leaves it so.
                assert clock.decision_state == State.BREACHED
        for c in COMMITMENTS:
            state, due = getattr(clock, f"{c}_state"), getattr(clock, f"{c}_due_at")
            if state in RUNNING:
                assert clock.is_open and due > NOW
                soon = getattr(clock, f"{c}_soon_at")
                assert state == (State.DUE_SOON if soon <= NOW else State.OPEN)
            if state == State.BREACHED:
                assert due <= end
        if not clock.is_open:
            assert all(getattr(clock, f"{c}_state") not in RUNNING for c in COMMITMENTS)


def test_events_record_the_start_and_every_settled_commitment(company):
    counts = {
        (row["clock"], row["kind"], row["commitment"]): row["n"]
        for row in SlaEvent.objects.values("clock", "kind", "commitment").annotate(n=Count("id"))
    }
    for clock in SlaClock.objects.all():
        assert counts.get((clock.pk, "started", "")) == 1
        for c in COMMITMENTS:
            state = getattr(clock, f"{c}_state")
            if state in (State.MET, State.BREACHED):
                assert counts.get((clock.pk, state, c)) == 1, (clock.pk, c, state)
        if clock.escalated_at:
            assert clock.escalate_at == clock.escalated_at <= NOW


def test_the_demo_rep_has_open_mqls_on_track_due_soon_and_breached(company):
    mine = SlaClock.objects.open().filter(
        rep__email=SOFIA, contact__lifecycle_stage=Stage.MQL, assignment__current=True
    )
    states = set(mine.values_list("first_touch_state", flat=True))
    assert {State.OPEN, State.DUE_SOON, State.BREACHED} <= states
    assert mine.filter(first_touch_state=State.MET, decision_state__in=RUNNING).exists()
    # What the rep's queue page lists, each with its running clock.
    rows = queue_rows(User.objects.get(email=SOFIA), NOW, explain_scores=False)
    assert len(rows) >= 4 and all(row["clock"] is not None for row in rows)
    queued = Assignment.objects.queued().filter(contact__lifecycle_stage=Stage.MQL)
    assert len(queue_rows(None, NOW, explain_scores=False)) == queued.count()
    assert 3 <= queued.count() <= 8
    # Every open MQL is either queued or with a rep whose clock runs.
    open_mqls = Contact.objects.filter(lifecycle_stage=Stage.MQL)
    for contact in open_mqls:
        current = Assignment.objects.current().get(contact=contact)
        if current.rep_id is not None and current.assigned_at >= NOW - timedelta(weeks=8):
            assert SlaClock.objects.filter(assignment=current).exists()


def test_compliance_of_the_last_four_weeks_covers_every_team_and_tells_reps_apart(company):
    result = run_compliance(NOW - timedelta(weeks=4), NOW)
    assert {row.label for row in result.teams} == set(Team.objects.values_list("name", flat=True))
    assert all(row.clocks > 0 for row in result.teams)
    met = [r.first_touch_met_pct for r in result.reps if r.clocks >= 5]
    assert len(met) >= 3 and max(met) - min(met) >= 10
    assert result.decisions > 0 and result.mqls_delivered > 0
    assert result.total.breached > 0
    assert SlaClock.objects.filter(Q(escalated_at__isnull=False)).exists()


def test_the_demo_sets_goals_the_dashboard_tracks(company):
    from smarketing.analytics.goals import progress
    from smarketing.analytics.models import Goal

    goals = list(Goal.objects.order_by("id"))
    assert [g.metric for g in goals] == ["won_revenue", "mqls", "sqls", "customers"]
    assert goals[0].target_kind == "relative" and goals[3].team.name == "Inside sales EMEA"
    assert progress(goals[1], now=NOW).actual > 0

"""Scores on the pages: hottest leads, the contact's score panel, the backtest page and the charts."""

from datetime import UTC, datetime, timedelta

import pytest
import yaml
from django.urls import reverse
from django.utils import timezone

from smarketing.core.actors import SYSTEM, Actor
from smarketing.core.choices import Role
from smarketing.core.testing import make_company, make_contact, make_user
from smarketing.crm.actions import do_change_stage, do_log_activity, ingest_touches
from smarketing.definitions.actions import install_defaults, to_yaml
from smarketing.definitions.defaults import default_bodies
from smarketing.definitions.testing import put_in_force
from smarketing.web.charts import Point, Series, bar_chart, line_chart, nice_ceiling, ticks
from smarketing.web.tests.conftest import HTMX, signed_in

pytestmark = pytest.mark.django_db

ENGAGEMENT_ONLY = {
    "fit": {
        "rules": [
            {"id": "us", "field": "contact.country", "op": "equals", "value": "US", "points": 10}
        ]
    },
    "engagement": {
        "decay": {"half_life_days": 10},
        "rules": [
            {
                "id": "demo",
                "label": "Asked for a demo",
                "match": {"type": "demo_request"},
                "points": 50,
                "once": True,
            },
            {"id": "visit", "label": "Visited", "match": {"type": "page_view"}, "points": 5},
        ],
    },
}


def good_fit(email, owner=None, **extra):
    company = make_company(industry="Software", employee_count=400)
    return make_contact(
        email=email,
        company=company,
        seniority="director",
        country="United States",
        job_title="Director of Marketing",
        phone="+1 555 0100",
        owner=owner,
        **extra,
    )


def touch(email, kind, days_ago=0, **extra):
    at = (timezone.now() - timedelta(days=days_ago)).isoformat()
    ingest_touches([{"email": email, "type": kind, "occurred_at": at, **extra}], actor=SYSTEM)


# --- hottest leads -----------------------------------------------------------------------------


def test_hottest_leads_for_a_rep_are_their_own_and_unassigned(rep):
    install_defaults()
    other_rep = make_user(Role.SALES_REP)
    mine = good_fit("mine@acme.test", owner=rep, first_name="Mina")
    free = good_fit("free@acme.test", first_name="Freya")
    theirs = good_fit("theirs@acme.test", owner=other_rep, first_name="Theo")
    for contact in (mine, free, theirs):
        touch(contact.email, "page_view", days_ago=2, url="https://x.test/pricing")
    response = signed_in(rep).get(reverse("web:hot_leads"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Mina" in html and "Freya" in html and "Theo" not in html
    assert 'class="badge cell heat-' in html
    assert reverse("web:contact", args=[mine.pk]) in html
    # A manager sees everyone's.
    manager_html = signed_in(make_user(Role.SALES_MANAGER)).get(reverse("web:hot_leads"))
    assert "Theo" in manager_html.content.decode()


def test_worked_leads_drop_off_the_list(rep):
    install_defaults()
    called = good_fit("called@acme.test", owner=rep, first_name="Callum")
    good_fit("waiting@acme.test", owner=rep, first_name="Wanda")
    do_log_activity(called, kind="call", outcome="connected", actor=Actor(user=rep, rule="test"))
    html = signed_in(rep).get(reverse("web:hot_leads")).content.decode()
    assert "Wanda" in html and "Callum" not in html


def test_fastest_rising_toggle_is_an_htmx_partial(rep):
    put_in_force("scoring", ENGAGEMENT_ONLY)
    steady = make_contact(email="steady@acme.test", first_name="Steady", country="US", owner=rep)
    rising = make_contact(email="rising@acme.test", first_name="Rising", owner=rep)
    touch(steady.email, "demo_request", days_ago=20)
    for _ in range(3):
        touch(rising.email, "page_view", days_ago=1)
    client = signed_in(rep)
    by_score = client.get(reverse("web:hot_leads")).content.decode()
    assert by_score.index("Steady") < by_score.index("Rising")
    response = client.get(reverse("web:hot_leads"), {"by": "rising"}, **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'id="hot-results"' in html
    assert html.index("Rising") < html.index("Steady")
    assert response["HX-Push-Url"] == "/leads/hot/?by=rising"
    full = client.get(reverse("web:hot_leads"), {"by": "rising"}).content.decode()
    assert "<html" in full and 'value="rising" checked' in full


def test_hottest_leads_without_scoring_rules(rep_client):
    html = rep_client.get(reverse("web:hot_leads")).content.decode()
    assert "No scoring rules are in force yet" in html


def test_hottest_leads_query_budget(rep, django_assert_max_num_queries):
    install_defaults()
    for n in range(30):
        good_fit(f"lead{n}@acme.test", owner=rep if n % 2 else None)
        touch(f"lead{n}@acme.test", "page_view", days_ago=n % 5)
    client = signed_in(rep)
    client.get(reverse("web:hot_leads"))  # warm the compiled rule set
    # session, user, active ids, the leads' scores, their touches, messages: not one per lead.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("web:hot_leads"))
    assert response.content.decode().count('class="badge cell') == 25


def test_home_lists_a_reps_hottest_leads(rep):
    install_defaults()
    good_fit("mine@acme.test", owner=rep, first_name="Mina")
    html = signed_in(rep).get(reverse("web:home")).content.decode()
    assert 'id="home-hot-leads"' in html and "Mina" in html
    assert reverse("web:hot_leads") in html
    manager_home = signed_in(make_user(Role.SALES_MANAGER)).get(reverse("web:home"))
    assert 'id="home-hot-leads"' not in manager_home.content.decode()


# --- the contact's score panel -------------------------------------------------------------


def test_contact_page_explains_the_score(rep):
    install_defaults()
    contact = good_fit("dana@acme.test", owner=rep, first_name="Dana")
    touch(contact.email, "page_view", days_ago=12, url="https://x.test/pricing")
    touch(contact.email, "demo_request", days_ago=3)
    contact.refresh_from_db()
    assert contact.lifecycle_stage == "mql"
    response = signed_in(rep).get(reverse("web:contact", args=[contact.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    panel = html[html.index('id="score-panel"') : html.index('id="activity-panel"')]
    # Fit: industry, size, country, director, title = 80, grade A; every rule with its profile value.
    assert "Industry in the ICP" in panel and "Software" in panel and "+20" in panel
    assert "80 · grade A" in panel
    # Engagement: the rules that fired, times, awarded, what is left after decay.
    assert "Requested a demo" in panel and "Viewed pricing" in panel
    assert "lose half their value every 30 days" in panel
    assert "Rules: scoring v1" in panel
    # The chart: a line, the MQL threshold and the moment it became an MQL.
    assert "<svg" in panel and 'class="line"' in panel and 'class="threshold"' in panel
    assert "MQL threshold 60" in panel
    assert "Became an MQL on" in panel
    assert 'class="badge cell heat-' in panel


def test_contact_page_without_scoring_rules(rep_client, contact):
    html = rep_client.get(reverse("web:contact", args=[contact.pk])).content.decode()
    assert "No scoring rules are in force yet, so this contact has no score." in html


def test_score_snapshots_at_stage_changes(rep):
    install_defaults()
    contact = good_fit("omar@acme.test", owner=rep)
    touch(contact.email, "demo_request", days_ago=1)
    contact.refresh_from_db()
    do_change_stage(contact, "sal", actor=Actor(user=rep, rule="test"))
    html = signed_in(rep).get(reverse("web:contact", args=[contact.pk])).content.decode()
    assert "Score at each stage change" in html
    assert 'class="badge stage stage-sal"' in html.split("Score at each stage change")[1]


# --- the backtest page ---------------------------------------------------------------------


def backtest_history():
    now = timezone.now()
    for n in range(6):
        contact = good_fit(f"hist{n}@acme.test", created_at=now - timedelta(days=60))
        if n < 3:
            touch(contact.email, "demo_request", days_ago=40)
        contact.refresh_from_db()
        if n < 2:
            for stage in ("sal", "sql", "opportunity", "customer"):
                do_change_stage(contact, stage, actor=SYSTEM)


def test_backtest_page_runs_a_draft_next_to_the_rules_in_force(marketing_manager):
    install_defaults()
    backtest_history()
    client = signed_in(marketing_manager)
    page = client.get(reverse("web:scoring_backtest"))
    assert page.status_code == 200 and "demo_request" in page.content.decode()
    draft = yaml.safe_load(yaml.safe_dump(default_bodies()["scoring"]))
    draft["engagement"]["rules"][0]["points"] = 5
    response = client.post(
        reverse("web:scoring_backtest"), {"scoring": to_yaml(draft), "months": "3"}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert "Draft rules" in html and "scoring v1, stages v1" in html
    # Six deciles (six contacts), a bar for each rule set.
    assert 'class="chart bar-chart"' in html and html.count('class="bar"') == 12
    assert "By original source" in html and "By first campaign" in html
    full = client.post(reverse("web:scoring_backtest"), {"scoring": "", "months": "6"})
    assert "<html" in full.content.decode() and 'id="backtest-figures"' in full.content.decode()


def test_backtest_page_lists_problems(marketing_manager):
    install_defaults()
    client = signed_in(marketing_manager)
    response = client.post(
        reverse("web:scoring_backtest"),
        {"scoring": "fit: {rules: [{field: contact.shoe, op: near, points: x}]}", "months": "6"},
        **HTMX,
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "<code>fit.rules[0].field</code>" in html
    assert "<code>fit.rules[0].op</code>" in html
    assert "<code>fit.rules[0].points</code>" in html
    response = client.post(
        reverse("web:scoring_backtest"), {"scoring": "", "stages": "mql: [", "months": "6"}, **HTMX
    )
    assert response.status_code == 422 and "not valid YAML" in response.content.decode()


def test_backtest_page_is_for_those_who_shape_the_definitions(sales_manager, rep_client):
    assert rep_client.get(reverse("web:scoring_backtest")).status_code == 403
    assert signed_in(sales_manager).get(reverse("web:scoring_backtest")).status_code == 200


# --- the charts ----------------------------------------------------------------------------


def test_axis_values_are_round():
    assert [nice_ceiling(v) for v in (0.7, 2.2, 3.1, 11, 60, 130)] == [1, 2.5, 5, 20, 100, 200]
    assert ticks(5) == [0, 1, 2, 3, 4, 5]
    assert ticks(200, -50) == [-50, 0, 50, 100, 150, 200]


def test_bar_chart_draws_a_labelled_bar_per_value():
    svg = bar_chart(
        ["1", "2", "3"],
        [Series("Draft <b>", "#000", [2.5, 1.0, 0.0]), Series("Active", "#999", [1.5, 1.2, 0.3])],
        title="Lift",
        value_label="{}x",
        baseline=1.0,
        baseline_label="average",
    )
    assert svg.startswith("<svg") and svg.count('class="bar"') == 6
    assert ">2.5x</text>" in svg and ">0.3x</text>" in svg
    assert "Draft &lt;b&gt;" in svg and "<b>" not in svg
    assert 'class="baseline"' in svg


def test_line_chart_scales_points_and_marks_the_threshold():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    points = [
        Point(start, 10),
        Point(start + timedelta(days=5), 80),
        Point(start + timedelta(days=10), 40),
    ]
    svg = line_chart(
        points,
        title="Score",
        threshold=60,
        threshold_label="MQL 60",
        marks=[(start + timedelta(days=5), "MQL")],
    )
    assert 'class="line"' in svg and 'class="threshold"' in svg and 'class="mark"' in svg
    polyline = svg.split('points="')[1].split('"')[0].split()
    xs = [float(p.split(",")[0]) for p in polyline]
    ys = [float(p.split(",")[1]) for p in polyline]
    assert xs == sorted(xs) and len(xs) == 3
    assert ys[1] < ys[2] < ys[0]  # higher scores are drawn higher up

"""The dashboard runner, and the insights surfaces: pages, REST API and CLI."""

from __future__ import annotations

import json
import types
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import NoReverseMatch, clear_url_caches, include, path, reverse
from django.utils import timezone

from smarketing.analytics.actions import do_create_goal
from smarketing.analytics.dashboard import DashboardInput, run_dashboard
from smarketing.analytics.models import Goal
from smarketing.core.actions import do_create_token
from smarketing.core.actors import SYSTEM
from smarketing.core.errors import ValidationFailed
from smarketing.core.testing import PASSWORD, make_contact
from smarketing.crm.actions import do_close_deal, do_create_deal

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)  # Wednesday of ISO week 2026-W47


def utc(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


_SHIM: dict[str, object] = {}


def insights_urlconf() -> types.ModuleType | None:
    """Until `web/urls.py` and `api/router.py` include the insights routes, mount them here
    (the API on an instance of its own: ninja takes no router once its URLs are built)."""
    from smarketing.api import insights as insights_api
    from smarketing.api.errors import install_error_handlers
    from smarketing.api.parser import JsonParser
    from smarketing.api.router import SmarketingAPI, api
    from smarketing.web import urls as web_urls
    from smarketing.web.routes import insights as routes

    try:
        reverse("web:dashboard")
        web_ok = True
    except NoReverseMatch:
        web_ok = False
    api_ok = getattr(insights_api.router, "api", None) is api
    if web_ok and api_ok:
        return None
    if "module" in _SHIM:
        return _SHIM["module"]  # type: ignore[return-value]
    mounted = api
    if not api_ok:
        mounted = SmarketingAPI(
            title="Insights", version="test", urls_namespace="insights_test", parser=JsonParser()
        )
        install_error_handlers(mounted)
        mounted.add_router("", insights_api.router)
    module = types.ModuleType("insights_test_urls")
    web_patterns = [*web_urls.urlpatterns, *([] if web_ok else routes.urlpatterns)]
    module.urlpatterns = [  # type: ignore[attr-defined]
        path("admin/", admin.site.urls),
        path("api/v1/", mounted.urls),
        path("", include((web_patterns, "web"))),
    ]
    _SHIM["module"] = module
    return module


@pytest.fixture
def urls(settings):
    module = insights_urlconf()
    if module is not None:
        settings.ROOT_URLCONF = module
        clear_url_caches()
    yield
    clear_url_caches()


@pytest.fixture
def history(db, monkeypatch):
    """MQLs in weeks 45-47 of 2026 (3, 1, 2) and deals won in weeks 46 and 47."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    for day, source in [(2, "social"), (3, "social"), (4, "email"), (10, "social")]:
        make_contact("mql", original_source=source, created_at=utc(11, day))
    for day in (16, 17):
        make_contact("mql", original_source="email", created_at=utc(11, day))
    for day, amount in [(11, "1000"), (17, "250")]:
        contact = make_contact("sql", original_source="social", created_at=utc(11, day - 1))
        deal = do_create_deal(
            {
                "name": f"D{day}",
                "amount": amount,
                "contacts": [contact.pk],
                "created_at": utc(11, day - 1),
            },
            actor=SYSTEM,
        )
        do_close_deal(deal, won=True, actor=SYSTEM, at=utc(11, day))
    do_create_goal(
        {"name": "MQLs in November", "metric": "mqls", "target_value": "20", "period": "2026-11"},
        actor=SYSTEM,
    )


class TestDashboardRunner:
    def test_weeks_and_goals(self, history):
        inp = DashboardInput.from_params({"week": "2026-W47", "weeks": "3"}, today=NOW.date())
        result = run_dashboard(inp, now=NOW)
        assert [w.week for w in result.weeks] == ["2026-W45", "2026-W46", "2026-W47"]
        # Creating a contact at SQL crosses MQL too (the deal contacts on 10 and 16 Nov).
        assert [w.values["mqls"] for w in result.weeks] == [3, 2, 3]
        assert [w.values["won_deals"] for w in result.weeks] == [0, 1, 1]
        assert [w.values["won_revenue"] for w in result.weeks] == [0, 1000, 250]
        assert result.weeks[-1].current
        [goal] = result.goals
        # 8 MQLs in 17.5 of November's 30 days.
        assert goal.actual == 8 and goal.elapsed == pytest.approx(17.5 / 30)
        assert result.funnel.total.stages[0].count == 8
        assert result.compliance_week == "2026-W46"
        assert result.input.model == "linear"
        header, rows = result.to_rows()
        assert header[:3] == ["week", "start", "new_leads"] and len(rows) == 3

    def test_bad_input(self, db):
        with pytest.raises(ValidationFailed) as caught:
            DashboardInput.from_params({"week": "2026-10", "weeks": "99", "model": "vibes"})
        assert {p.field for p in caught.value.problems} == {"week", "weeks", "model"}


class TestPages:
    def test_dashboard_page_draws_its_charts(self, history, urls, marketing_manager):
        client = Client()
        client.login(username=marketing_manager.email, password=PASSWORD)
        response = client.get("/dashboard/")
        assert response.status_code == 200
        html = response.content.decode()
        for section in ("funnel", "goals", "sla", "sources", "attribution", "weeks"):
            assert f'id="{section}"' in html
        assert html.count("<svg") >= 5
        assert "MQLs in November" in html
        csv = client.get("/dashboard/?format=csv")
        assert csv["Content-Type"].startswith("text/csv")
        assert csv.content.decode().splitlines()[0].startswith("week,start,new_leads")

    def test_claim_page(self, history, urls, rep):
        client = Client()
        client.login(username=rep.email, password=PASSWORD)
        response = client.get(
            "/insights/claims/", {"metric": "mqls", "period": "2026-10", "compare": "3"}
        )
        assert response.status_code == 200
        assert b"claim-chart" in response.content
        assert b"Not enough data to test" in response.content
        bad = client.get("/insights/claims/", {"metric": "vibes", "period": "2026-10"})
        assert bad.status_code == 422

    def test_goal_page_create_and_delete(self, history, urls, sales_manager, rep):
        client = Client()
        client.login(username=sales_manager.email, password=PASSWORD)
        response = client.post(
            "/insights/goals/",
            {
                "name": "Wins",
                "metric": "won_deals",
                "target_kind": "absolute",
                "target_value": "4",
                "period": "2026-11",
            },
        )
        assert response.status_code == 302
        goal = Goal.objects.get(name="Wins")
        bad = client.post(
            "/insights/goals/",
            {
                "name": "X",
                "metric": "win_rate",
                "target_kind": "absolute",
                "target_value": "60",
                "period": "2026-11",
            },
        )
        assert bad.status_code == 422 and b"between 0 and 1" in bad.content
        # A manager changes the target on the edit page; a bad value keeps the old one.
        edit = f"/insights/goals/{goal.pk}/edit/"
        page = client.get(edit)
        assert page.status_code == 200 and b'value="Wins"' in page.content
        fields = {
            "name": "Wins",
            "metric": "won_deals",
            "target_kind": "absolute",
            "target_value": "6",
            "period": "2026-11",
            "segment": "original_source=social",
        }
        assert client.post(edit, fields).status_code == 302
        goal.refresh_from_db()
        assert goal.target_value == 6 and goal.segment == {"original_source": "social"}
        bad_edit = client.post(edit, {**fields, "target_value": "many"})
        assert bad_edit.status_code == 422
        goal.refresh_from_db()
        assert goal.target_value == 6
        other = Client()
        other.login(username=rep.email, password=PASSWORD)
        assert other.get(edit).status_code == 403
        assert other.post(f"/insights/goals/{goal.pk}/delete/").status_code == 403
        assert client.post(f"/insights/goals/{goal.pk}/delete/").status_code == 302
        assert not Goal.objects.filter(name="Wins").exists()

    def test_scorecard_pages(self, history, urls, rep):
        client = Client()
        client.login(username=rep.email, password=PASSWORD)
        for side in ("marketing", "sales"):
            response = client.get(f"/insights/scorecards/{side}/", {"period": "2026-11"})
            assert response.status_code == 200
        assert client.get("/insights/scorecards/finance/").status_code == 422


def bearer(user, scopes):
    _, raw = do_create_token(user=user, name="t", scopes=scopes, actor=SYSTEM)
    return {"Authorization": f"Bearer {raw}"}


class TestApi:
    def test_claims(self, history, urls, rep):
        response = Client().get(
            "/api/v1/claims",
            {
                "metric": "mqls",
                "period": "2026-10",
                "compare": 3,
                "segment": "original_source=social",
            },
            headers=bearer(rep, ["read"]),
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["metric"] == "mqls" and len(body["periods"]) == 4
        assert body["test"]["test"] == "poisson_exact"
        bad = Client().get(
            "/api/v1/claims",
            {"metric": "vibes", "period": "2026-10"},
            headers=bearer(rep, ["read"]),
        )
        assert bad.status_code == 422 and bad.json()["error"]["problems"][0]["field"] == "metric"

    def test_goal_crud_and_roles(self, history, urls, marketing_manager, rep):
        manager = bearer(marketing_manager, ["read", "write"])
        client = Client()
        created = client.post(
            "/api/v1/goals",
            json.dumps(
                {
                    "name": "Revenue +5 %",
                    "metric": "won_revenue",
                    "target_kind": "relative",
                    "target_value": 5,
                    "period": "2026-Q4",
                }
            ),
            content_type="application/json",
            headers=manager,
        )
        assert created.status_code == 201, created.content
        goal = created.json()
        assert goal["baseline"] == "same_period_last_year" and goal["baseline_period"] == "2025-Q4"
        changed = client.patch(
            f"/api/v1/goals/{goal['id']}",
            json.dumps({"target_value": 10}),
            content_type="application/json",
            headers=manager,
        )
        assert changed.status_code == 200 and changed.json()["target_value"] == 10
        refused = client.delete(
            f"/api/v1/goals/{goal['id']}", headers=bearer(rep, ["read", "write"])
        )
        assert refused.status_code == 403
        listed = client.get("/api/v1/goals", headers=bearer(rep, ["read"]))
        assert {g["name"] for g in listed.json()} == {"MQLs in November", "Revenue +5 %"}
        assert client.delete(f"/api/v1/goals/{goal['id']}", headers=manager).status_code == 204
        assert client.get(f"/api/v1/goals/{goal['id']}", headers=manager).status_code == 404

    def test_scorecard_and_dashboard(self, history, urls, rep):
        client = Client()
        card = client.get(
            "/api/v1/scorecards/marketing", {"period": "2026-11"}, headers=bearer(rep, ["read"])
        )
        assert card.status_code == 200, card.content
        [row] = card.json()["rows"]
        assert row["figures"]["mqls_delivered"] == 8
        assert (
            client.get(
                "/api/v1/scorecards/finance", {"period": "2026-11"}, headers=bearer(rep, ["read"])
            ).status_code
            == 422
        )
        board = client.get(
            "/api/v1/dashboard", {"week": "2026-W47", "weeks": 3}, headers=bearer(rep, ["read"])
        )
        assert board.status_code == 200, board.content
        assert [w["mqls"] for w in board.json()["weeks"]] == [3, 2, 3]


class TestCli:
    def run(self, *args) -> str:
        out = StringIO()
        call_command(*args, stdout=out)
        return out.getvalue()

    def test_claim(self, history):
        text = self.run("claim", "--metric", "mqls", "--period", "2026-10", "--compare", "3")
        assert "Not enough data to test" in text
        data = json.loads(
            self.run(
                "claim",
                "--metric",
                "won_deals",
                "--period",
                "2026-11",
                "--compare",
                "2",
                "--format",
                "json",
            )
        )
        assert data["current"]["numerator"] == 2
        with pytest.raises(CommandError):
            self.run("claim", "--metric", "vibes", "--period", "2026-10")

    def test_goal(self, history, sales_manager, rep):
        text = self.run(
            "goal",
            "add",
            "--name",
            "Wins",
            "--metric",
            "won_deals",
            "--target",
            "4",
            "--period",
            "2026-11",
            "--as",
            sales_manager.email,
        )
        assert "Wins" in text and "2026-11" in text
        with pytest.raises(CommandError):
            self.run(
                "goal",
                "add",
                "--name",
                "No",
                "--metric",
                "sqls",
                "--target",
                "1",
                "--period",
                "2026-11",
                "--as",
                rep.email,
            )
        assert "MQLs in November" in self.run("goal", "list")
        goal = Goal.objects.get(name="Wins")
        progress = json.loads(self.run("goal", "progress", str(goal.pk), "--format", "json"))
        assert progress["actual"] == 2 and progress["target"] == 4

    def test_scorecard(self, history):
        text = self.run("scorecard", "marketing", "--period", "2026-11")
        assert "MQLs delivered" in text
        csv = self.run("scorecard", "sales", "--period", "2026-11", "--format", "csv")
        assert csv.startswith("kind,key,label,team")

"""The demo company's sales desk: teams with working calendars, reps' capacity and
availability, routing rules, and how the stories route their MQLs.

`SalesDesk` is a plan in memory, built from the demo reps; the stories ask it where a
new MQL goes (the same order of rules the routing engine follows: account owner, the
queue for students and the like, named territories, a round robin per region, a catch-all),
and `install` writes the teams, profiles and rules through the hand-off actions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from smarketing.core.actors import SYSTEM
from smarketing.demo import catalogue as cat
from smarketing.handoff.choices import Availability, Method, RuleKind
from smarketing.sla.terms import calendar_of
from smarketing.sla.working_time import WorkingCalendar


@dataclass(frozen=True)
class TeamPlan:
    key: str
    name: str
    calendar: dict[str, Any]
    countries: list[str]
    offset: timedelta

    @property
    def working(self) -> WorkingCalendar:
        """The parsed calendar (the SLA's own cache, so clocks and stories share it)."""
        return calendar_of(self.calendar)


@dataclass(frozen=True)
class RepPlan:
    key: str
    index: int
    team: str
    capacity: int
    promptness: float
    availability: str = Availability.AVAILABLE
    away_since: datetime | None = None
    away_until: datetime | None = None

    @property
    def email(self) -> str:
        return f"{self.key}@{cat.DEMO_DOMAIN}"

    def can_take(self, at: datetime) -> bool:
        return self.away_since is None or at < self.away_since


@dataclass(frozen=True)
class RulePlan:
    name: str
    kind: str
    conditions: dict[str, Any]
    team: str | None = None
    reps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Routing:
    """Where routing put a lead: the rep (None: the unassigned queue), how and why."""

    rep: str | None
    method: str
    rule: str
    reason: str


@dataclass
class SalesDesk:
    teams: dict[str, TeamPlan]
    reps: dict[str, RepPlan]
    rules: list[RulePlan] = field(default_factory=list)

    @classmethod
    def plan(cls, rep_keys: list[str], now: datetime) -> SalesDesk:
        teams = {
            key: TeamPlan(
                key,
                name,
                {"timezone": tz, "hours": hours, "holidays": dict(holidays)},
                list(countries),
                timedelta(hours=offset),
            )
            for key, name, tz, hours, holidays, countries, offset in cat.TEAMS
        }
        away = {index: (kind, since, until) for index, kind, since, until in cat.AWAY}
        reps = {}
        for index, key in enumerate(rep_keys):
            team, capacity, promptness = cat.REP_DESK[index % len(cat.REP_DESK)]
            kind, since, until = away.get(index, (Availability.AVAILABLE, None, None))
            # Someone always takes leads: the first rep is never away.
            if index == 0:
                kind, since, until = Availability.AVAILABLE, None, None
            reps[key] = RepPlan(
                key,
                index,
                team,
                capacity,
                promptness,
                kind,
                now - timedelta(days=since) if since is not None else None,
                now + timedelta(days=until) if until is not None else None,
            )
        desk = cls(teams, reps)
        desk.rules = desk._plan_rules(rep_keys)
        return desk

    def _plan_rules(self, rep_keys: list[str]) -> list[RulePlan]:
        rules = [
            RulePlan(cat.ACCOUNT_OWNER_RULE, RuleKind.ACCOUNT_OWNER, {}),
            RulePlan(cat.QUEUE_RULE[0], RuleKind.QUEUE, dict(cat.QUEUE_RULE[1])),
        ]
        for name, countries, indexes in cat.TERRITORIES:
            reps = tuple(rep_keys[i] for i in indexes if i < len(rep_keys))
            if reps:
                rules.append(RulePlan(name, RuleKind.TERRITORY, {"country": countries}, reps=reps))
        for team in self.teams.values():
            if any(r.team == team.key for r in self.reps.values()):
                rules.append(
                    RulePlan(
                        f"{team.name}: round robin",
                        RuleKind.TERRITORY,
                        {"country": team.countries},
                        team=team.key,
                    )
                )
        rules.append(RulePlan(cat.CATCH_ALL_RULE, RuleKind.ROUND_ROBIN, {}, reps=tuple(rep_keys)))
        return rules

    # -- what the stories ask --

    def team_of(self, rep: str | None) -> TeamPlan | None:
        return self.teams[self.reps[rep].team] if rep in self.reps else None

    def offset_of(self, rep: str | None) -> timedelta:
        team = self.team_of(rep)
        return team.offset if team else timedelta(0)

    def pool(self, rule: RulePlan) -> list[RepPlan]:
        if rule.reps:
            return [self.reps[k] for k in rule.reps]
        return [r for r in self.reps.values() if r.team == rule.team]

    def route(
        self,
        *,
        country: str,
        seniority: str,
        owner: str | None,
        account_owner: str | None,
        at: datetime,
        rng: random.Random,
    ) -> Routing:
        """Where the routing rules send a new MQL at `at` (round robin: by capacity, at random)."""
        for rule in self.rules:
            if rule.kind == RuleKind.ACCOUNT_OWNER:
                for label, key in (("contact owner", owner), ("account owner", account_owner)):
                    if key and self.reps[key].can_take(at):
                        return Routing(
                            key,
                            Method.ACCOUNT_OWNER,
                            rule.name,
                            f"{rule.name}: {label} {self.reps[key].email}",
                        )
                continue
            if not _holds(rule.conditions, {"country": country, "seniority": seniority}):
                continue
            if rule.kind == RuleKind.QUEUE:
                return Routing(None, Method.QUEUE, rule.name, f"rule “{rule.name}” queues it")
            pool = [r for r in self.pool(rule) if r.can_take(at)]
            if not pool:
                continue
            rep = rng.choices(pool, [r.capacity for r in pool])[0]
            method = Method.TERRITORY if rule.conditions else Method.ROUND_ROBIN
            return Routing(
                rep.key,
                method,
                rule.name,
                f"{rule.name}: round robin weighted by capacity ({rep.capacity})",
            )
        return Routing(None, Method.QUEUE, "", "no routing rule placed it")

    # -- writing it --

    def install(self, user_ids: dict[str, int], manager_key: str) -> dict[str, Any]:
        """Teams, rep profiles and routing rules, through the hand-off actions."""
        from smarketing.core.models import User
        from smarketing.handoff.actions import do_save_rep_profile, do_save_rule, do_save_team

        actor = SYSTEM.via("demo")
        users = User.objects.in_bulk(list(user_ids.values()))
        manager = users[user_ids[manager_key]]
        teams = {
            team.key: do_save_team(
                {"name": team.name, "manager": manager, "calendar": team.calendar}, actor=actor
            )
            for team in self.teams.values()
        }
        for rep in self.reps.values():
            data: dict[str, Any] = {"team": teams[rep.team], "capacity": rep.capacity}
            if rep.availability != Availability.AVAILABLE:
                data["availability"] = rep.availability
                data["away_until"] = rep.away_until
            do_save_rep_profile(users[user_ids[rep.key]], data, actor=actor)
        rules = {}
        for rule in self.rules:
            rules[rule.name] = do_save_rule(
                {
                    "name": rule.name,
                    "kind": rule.kind,
                    "conditions": rule.conditions,
                    "team": teams[rule.team] if rule.team else None,
                    "reps": [users[user_ids[k]] for k in rule.reps],
                },
                actor=actor,
            )
        return {"teams": teams, "rules": rules}


def rule_names() -> list[str]:
    """Every routing rule name the demo may install (so `reset` can take them out again)."""
    return [
        cat.ACCOUNT_OWNER_RULE,
        cat.QUEUE_RULE[0],
        *(name for name, _, _ in cat.TERRITORIES),
        *(f"{team[1]}: round robin" for team in cat.TEAMS),
        cat.CATCH_ALL_RULE,
    ]


def _holds(conditions: dict[str, list[str]], facts: dict[str, str]) -> bool:
    return all(
        (facts.get(key) or "").casefold() in {v.casefold() for v in values}
        for key, values in conditions.items()
    )

"""`smarketing score …`: rescore, explain a contact's score, backtest a draft, list the hottest leads.

Subcommands (see docs/scoring.md):
  rescore [--contacts ID,...]                 rescore under the rules in force, with a progress bar
  explain EMAIL_OR_ID [--at T] [--format F]   the rules that fired, points, decay, snapshots
  backtest DRAFT.yaml [--months N] [--stages STAGES.yaml] [--format F]
  hottest [--owner EMAIL] [--by score|rising]

Exit codes:
  0  done
  1  the rescore failed (nothing was written; the error is on the run)
  2  invalid input: bad arguments, an unreadable or invalid file (every problem is listed)
  3  not allowed
  4  not found: no such contact or user, or no scoring rules in force at that moment
  5  refused: no scoring rules are in force
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from smarketing.core.actors import Actor
from smarketing.core.errors import (
    Conflict,
    DomainError,
    FieldProblem,
    IllegalTransition,
    NotAllowed,
    NotFound,
    ValidationFailed,
)
from smarketing.core.models import User
from smarketing.crm.models import Contact
from smarketing.crm.parsing import parse_date_text
from smarketing.definitions.actions import load_yaml
from smarketing.definitions.choices import Kind
from smarketing.definitions.selectors import active_version, rule_set_in_force
from smarketing.definitions.validation import validate_stages
from smarketing.scoring.backtest import MAX_MONTHS, BacktestResult, SideResult, run_backtest
from smarketing.scoring.rules import compile_rule_set
from smarketing.scoring.selectors import explain, hottest
from smarketing.scoring.tasks import do_request_rescore, record_failure, run_rescore

OK, FAILED, INVALID, NOT_ALLOWED, NOT_FOUND, REFUSED = 0, 1, 2, 3, 4, 5


def exit_code_for(exc: DomainError) -> int:
    if isinstance(exc, NotAllowed):
        return NOT_ALLOWED
    if isinstance(exc, NotFound):
        return NOT_FOUND
    if isinstance(exc, Conflict | IllegalTransition):
        return REFUSED
    return INVALID


def pct(share: float) -> str:
    return f"{share * 100:.1f} %"


def signed(points: float) -> str:
    return f"{points:+g}"


def draft_parts(doc: Any) -> tuple[dict | None, dict | None]:
    """(scoring, stages) of a draft file: a bare rule set, or a document with `scoring:`/`stages:`."""
    if isinstance(doc, dict) and doc and set(doc) <= set(Kind.values):
        if not ({"scoring", "stages"} & set(doc)):
            raise ValidationFailed(
                "The draft has neither scoring rules nor stage criteria.",
                [FieldProblem("", "give a rule set, or a document with scoring: and/or stages:")],
            )
        return doc.get("scoring"), doc.get("stages")
    return doc, None


class Command(BaseCommand):
    help = (
        "Lead scores: rescore everyone under the rules in force, explain a contact's score, "
        "backtest a draft rule set against the last months of history, list the hottest "
        "leads. Exit codes: 0 done, 1 the rescore failed, 2 invalid input, 3 not allowed, "
        "4 not found, 5 no scoring rules in force."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="SUBCOMMAND")

        rescore = sub.add_parser("rescore", help="Rescore contacts under the rules in force.")
        rescore.add_argument(
            "--contacts", help="Comma-separated contact ids (default: every contact)."
        )
        rescore.add_argument("--no-progress", action="store_true", help="No progress bar.")
        rescore.add_argument("--format", choices=["text", "json"], default="text")

        explain_cmd = sub.add_parser("explain", help="Why a contact has its score.")
        explain_cmd.add_argument("contact", metavar="EMAIL_OR_ID")
        explain_cmd.add_argument(
            "--at", help="Score at this past moment (ISO 8601), under the rules in force then."
        )
        explain_cmd.add_argument("--format", choices=["text", "json"], default="text")

        backtest = sub.add_parser(
            "backtest", help="Replay a draft rule set over history, next to the rules in force."
        )
        backtest.add_argument(
            "draft",
            metavar="DRAFT.yaml",
            help="A scoring rule set, or a definitions document with scoring: and/or stages:.",
        )
        backtest.add_argument("--months", type=int, default=6, help=f"1 to {MAX_MONTHS} (6).")
        backtest.add_argument("--stages", help="Draft stage criteria (YAML) to test with it.")
        backtest.add_argument("--format", choices=["text", "json"], default="text")

        hot = sub.add_parser("hottest", help="Open leads to call first.")
        hot.add_argument("--owner", help="A rep's email: their leads and the unowned ones.")
        hot.add_argument("--by", choices=["score", "rising"], default="score")
        hot.add_argument("--days", type=int, default=7, help="The window of --by rising.")
        hot.add_argument("--limit", type=int, default=25)
        hot.add_argument("--all", action="store_true", help="Include leads already worked.")

    def handle(self, *args, **options):
        try:
            getattr(self, f"_{options['action']}")(options)
        except DomainError as exc:
            lines = [exc.message, *(f"  {p.field}: {p.message}" for p in exc.problems)]
            self._exit(exit_code_for(exc), "\n".join(lines))

    # --- rescore -------------------------------------------------------------------

    def _rescore(self, options):
        ids = None
        if options["contacts"]:
            try:
                ids = [int(part) for part in options["contacts"].split(",") if part.strip()]
            except ValueError:
                self._exit(
                    INVALID, "--contacts takes contact ids separated by commas (e.g. 12,40)."
                )
        run = do_request_rescore(Actor(rule="cli"), ids, enqueue=False)
        bar = None
        if not options["no_progress"]:
            bar = tqdm(
                total=run.contacts_total,
                unit=" contacts",
                file=sys.stderr,
                disable=None,
                dynamic_ncols=True,
            )

        def progress(done: int) -> None:
            if bar is not None:
                bar.update(done - bar.n)

        try:
            result = run_rescore(run, progress=progress)
        except DomainError as exc:
            record_failure(run, exc, retrying=False)
            raise
        except Exception as exc:
            record_failure(run, exc, retrying=False)
            self._exit(FAILED, f"The rescore failed and nothing was written: {exc}")
        finally:
            if bar is not None:
                bar.close()
        if options["format"] == "json":
            self.stdout.write(json.dumps({"run": run.pk, **run.result}, indent=2))
            return
        seconds = ", ".join(f"{k} {v:g} s" for k, v in result.seconds.items())
        self.stdout.write(
            f"Rescore #{run.pk}: {result.contacts:,} contacts under "
            f"{run.version.label if run.version else 'the rules in force'}, "
            f"{result.touches:,} touches, {result.awards:,} awards of points; "
            f"{result.promoted:,} became MQLs. ({seconds})"
        )

    # --- explain -------------------------------------------------------------------

    def _contact(self, ref: str) -> Contact:
        ref = ref.strip()
        contact = None
        if ref.isdigit():
            contact = Contact.objects.filter(pk=int(ref)).first()
        if contact is None:
            contact = Contact.objects.filter(email=ref.lower()).first()
        if contact is None:
            raise NotFound(f"No contact with id or email {ref}.")
        return contact

    @staticmethod
    def _who(contact: Contact) -> str:
        label = contact.email or contact.external_id or f"#{contact.pk}"
        return f"{contact.full_name} <{label}>" if contact.full_name.strip() else label

    def _moment(self, text: str | None, option: str):
        if not text:
            return None
        moment = parse_date_text(text)
        if moment is None:
            self._exit(
                INVALID, f"{option} {text} is not a date or date-time (e.g. 2025-03-01T09:00Z)."
            )
        return moment

    def _explain(self, options):
        contact = self._contact(options["contact"])
        at = self._moment(options["at"], "--at")
        explanation = explain(contact, at=at)
        if explanation is None:
            raise NotFound("No scoring rules were in force at that moment.")
        if options["format"] == "json":
            self.stdout.write(json.dumps(asdict(explanation), indent=2, default=str))
            return
        e = explanation
        name = self._who(contact)
        lines = [
            f"{name}: score {e.total:.1f} at {e.as_of:%Y-%m-%d %H:%M UTC} ({e.version_label})",
            f"  fit {e.fit:g}, grade {e.grade}; engagement {e.engagement:.1f}, level {e.level}; "
            f"cell {e.cell}",
        ]
        if e.mql_threshold is not None:
            lines.append(
                f"  MQL threshold {e.mql_threshold:g}; stage now {contact.lifecycle_stage}"
            )
        lines.append("")
        lines.append("Fit rules that matched:")
        for rule in e.fit_rules or []:
            lines.append(f"  {signed(rule['points']):>6}  {rule['label']} ({rule['value']})")
        if not e.fit_rules:
            lines.append("  none")
        lines.append("")
        lines.append(f"Engagement rules that fired ({e.decay}):")
        if e.engagement_rules:
            lines.append(f"  {'fired':>5} {'awarded':>8} {'now':>8}  rule")
            for rule in e.engagement_rules:
                lines.append(
                    f"  {rule['fired']:>5} {rule['awarded']:>8.1f} {rule['now']:>8.1f}  {rule['label']}"
                )
        else:
            lines.append("  none")
        lines.append("")
        lines.append("Score kept at each stage change:")
        for s in e.snapshots:
            lines.append(
                f"  {s['at']:%Y-%m-%d %H:%M}  {s['total']:>7.1f}  {s['cell']}  {s['reason']}"
            )
        if not e.snapshots:
            lines.append("  none yet")
        self.stdout.write("\n".join(lines))

    # --- backtest ------------------------------------------------------------------

    def _read_yaml(self, path: str) -> Any:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
            self._exit(INVALID, f"Cannot read {path}: {reason}.")
        try:
            return load_yaml(text)
        except ValidationFailed as exc:
            exc.message = f"{path}: {exc.message}"
            raise

    def _backtest(self, options):
        doc = self._read_yaml(options["draft"])
        scoring, stages = draft_parts(doc)
        for kind in ("icp", "sla"):
            if isinstance(doc, dict) and kind in doc and set(doc) <= set(Kind.values):
                self.stderr.write(
                    f"Note: {kind} in the draft is not used; backtests use the ICP in force."
                )
        if options["stages"]:
            stages = self._read_yaml(options["stages"])
            if isinstance(stages, dict) and set(stages) == {"stages"}:
                stages = stages["stages"]
        icp = active_version(Kind.ICP)
        try:
            rules = (
                compile_rule_set(scoring, icp=icp.body if icp else None)
                if scoring is not None
                else None
            )
            if stages is not None:
                validate_stages(stages, rule_set=rules or rule_set_in_force())
        except ValidationFailed as exc:
            exc.message = f"{options['draft']}: {exc.message}"
            raise
        result = run_backtest(scoring, draft_stages=stages, months=options["months"])
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), indent=2, default=str))
            return
        self.stdout.write(self._backtest_text(result))

    def _backtest_text(self, r: BacktestResult) -> str:
        d, a = r.draft, r.active
        head = (
            f"Backtest of {r.months} months ({r.start:%Y-%m-%d} to {r.end:%Y-%m-%d}): "
            f"{r.cohort:,} contacts created or touched, {r.won_in_cohort:,} won, "
            f"{r.actual_mqls:,} really became MQLs."
        )
        width = max(len(d.label), len(a.label) if a else 0, 12)

        def row(name: str, draft: str, active: str) -> str:
            return f"  {name:<22} {draft:>{width}}   {active:>{width}}"

        def side(fn) -> tuple[str, str]:
            return fn(d), (fn(a) if a else "—")

        def suggestion(s: SideResult) -> str:
            if s.suggested_threshold is None:
                return "—"
            return f"{s.suggested_threshold:g}"

        lines = [head, "", row("", d.label, a.label if a else "(nothing in force)")]
        figures = [
            ("MQL threshold", lambda s: f"{s.threshold:g}"),
            ("min fit grade", lambda s: s.min_fit_grade or "any"),
            ("MQLs", lambda s: f"{s.mqls:,}"),
            ("accepted by sales", lambda s: f"{s.accepted:,}"),
            ("became SQL", lambda s: f"{s.sql:,}"),
            ("won", lambda s: f"{s.won:,}"),
            ("precision", lambda s: pct(s.precision)),
            ("recall", lambda s: pct(s.recall)),
            ("suggested threshold", suggestion),
            ("  its precision", lambda s: pct(s.suggested_precision)),
            ("  its recall", lambda s: pct(s.suggested_recall)),
        ]
        for name, fn in figures:
            lines.append(row(name, *side(fn)))
        lines += ["", "By source (MQLs / accepted / SQL / won):"]
        lines += self._breakdown(d.by_source, a.by_source if a else [], width)
        lines += ["", "By first campaign (MQLs / accepted / SQL / won):"]
        lines += self._breakdown(d.by_campaign, a.by_campaign if a else [], width)
        lines += ["", "Lift by score decile (contacts, score range, won, lift):"]
        for n in range(1, 11):
            left = next((x for x in d.deciles if x.decile == n), None)
            right = next((x for x in a.deciles if x.decile == n), None) if a else None
            if left is None and right is None:
                continue
            lines.append(f"  {n:>2}  {self._decile(left):<36} {self._decile(right)}")
        for note in r.notes:
            lines += ["", f"Note: {note}"]
        return "\n".join(lines)

    @staticmethod
    def _breakdown(draft, active, width) -> list[str]:
        def cell(b) -> str:
            return f"{b.mqls} / {b.accepted} / {b.sql} / {b.won}" if b else "—"

        by_key_active = {b.key: b for b in active}
        keys = [b.key for b in draft] + [
            b.key for b in active if b.key not in {x.key for x in draft}
        ]
        by_key_draft = {b.key: b for b in draft}
        lines = []
        for key in keys[:15]:
            b = by_key_draft.get(key) or by_key_active.get(key)
            lines.append(
                f"  {b.label[:22]:<22} {cell(by_key_draft.get(key)):>{width}}   "
                f"{cell(by_key_active.get(key)):>{width}}"
            )
        return lines or ["  none"]

    @staticmethod
    def _decile(x) -> str:
        if x is None:
            return "—"
        return (
            f"{x.contacts:>5} {x.min_score:>7.1f} to {x.max_score:<7.1f} {x.won:>4} {x.lift:>5.2f}x"
        )

    # --- hottest -------------------------------------------------------------------

    def _hottest(self, options):
        owner = None
        if options["owner"]:
            owner = User.objects.filter(email=options["owner"].strip().lower()).first()
            if owner is None:
                raise NotFound(f"No user with email {options['owner']}.")
        if not 1 <= options["limit"] <= 500 or not 1 <= options["days"] <= 90:
            self._exit(INVALID, "--limit takes 1 to 500 and --days 1 to 90.")
        if rule_set_in_force() is None:
            raise Conflict("No scoring rules are in force yet.")
        leads = hottest(
            owner=owner,
            unworked_only=not options["all"],
            by=options["by"],
            days=options["days"],
            limit=options["limit"],
        )
        if not leads:
            self.stdout.write("No open leads with a score.")
            return
        self.stdout.write(f"{'score':>7} {'cell':<4} {'rising':>7}  contact")
        for lead in leads:
            c = lead.contact
            who = self._who(c)
            owner_text = f"  (owner {c.owner.email})" if c.owner else ""
            self.stdout.write(
                f"{lead.total:>7.1f} {lead.cell:<4} {lead.rise:>+7.1f}  {who}, "
                f"{c.lifecycle_stage}{owner_text}"
            )

    def _exit(self, code: int, message: str) -> None:
        """Plain words on stderr and the exit code; under call_command, a CommandError with it."""
        if getattr(self, "_called_from_command_line", False):
            self.stderr.write(message)
            sys.exit(code)
        raise CommandError(message, returncode=code)

"""Domain errors: what the web UI, the REST API and the CLI each show in plain words.

Actions raise these; surfaces translate them (an HTTP status, a form error, a stderr
line and exit code). A message is a full sentence a user can act on.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with one input field."""

    field: str
    message: str
    value: object = None


@dataclass
class DomainError(Exception):
    message: str
    problems: list[FieldProblem] = field(default_factory=list)

    code = "invalid"
    http_status = 400

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        details = "; ".join(f"{p.field}: {p.message}" for p in self.problems)
        return f"{self.message} ({details})"


class ValidationFailed(DomainError):
    code = "validation_failed"
    http_status = 422


class IllegalTransition(DomainError):
    code = "illegal_transition"
    http_status = 409


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


def fail(message: str, **problems: str) -> ValidationFailed:
    """Build a ValidationFailed from keyword field problems: `raise fail("Bad", email="...")`."""
    return ValidationFailed(message, [FieldProblem(k, v) for k, v in problems.items()])

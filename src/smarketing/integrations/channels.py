"""The four channels: what each needs to be set up, and how a notification is sent to it.

Sending is a plain function of the endpoint's settings and the message: no database,
so the worker can send several at once in threads and record the outcomes afterwards.
Every request has a connect timeout of 3 s and a total budget of 10 s
(`CONNECT_TIMEOUT`, `TOTAL_TIMEOUT`); redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.utils.translation import gettext_lazy as _
from slack_sdk.webhook import WebhookClient

from smarketing.core.errors import FieldProblem
from smarketing.integrations.choices import ChannelKind

CONNECT_TIMEOUT = 3.0
TOTAL_TIMEOUT = 10.0
EXCERPT_CHARS = 500
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Smarketing-Notifications/1"
TRELLO_BASE = "https://api.trello.com"
ASANA_BASE = "https://app.asana.com"
# Block Kit limits: a header of 150 characters, a section of 3,000, ten fields per section.
SLACK_HEADER_CHARS = 150
SLACK_TEXT_CHARS = 3000
SLACK_FIELDS = 10


@dataclass(frozen=True)
class Setting:
    """One thing an endpoint of some kind needs."""

    name: str
    label: Any
    secret: bool = False
    required: bool = True
    url: bool = False
    default: str = ""
    help: Any = ""


SETTINGS: dict[str, list[Setting]] = {
    ChannelKind.SLACK: [
        Setting(
            "webhook_url",
            _("Incoming webhook URL"),
            secret=True,
            url=True,
            help=_("From Slack: Apps, Incoming Webhooks, Add to a channel."),
        ),
    ],
    ChannelKind.TRELLO: [
        Setting("list_id", _("List id"), help=_("The list new cards go to.")),
        Setting("api_key", _("API key")),
        Setting("token", _("Token"), secret=True),
        Setting("base_url", _("API address"), required=False, url=True, default=TRELLO_BASE),
    ],
    ChannelKind.ASANA: [
        Setting("project_gid", _("Project id"), help=_("The project new tasks go to.")),
        Setting("workspace_gid", _("Workspace id"), required=False),
        Setting("token", _("Personal access token"), secret=True),
        Setting("base_url", _("API address"), required=False, url=True, default=ASANA_BASE),
    ],
    ChannelKind.WEBHOOK: [
        Setting("url", _("URL"), url=True, help=_("Receives a signed JSON POST.")),
        Setting(
            "signing_secret",
            _("Signing secret"),
            secret=True,
            help=_("At least 16 characters; the receiver checks the signature with it."),
        ),
    ],
}
MIN_SIGNING_SECRET = 16
MAX_SETTING_CHARS = 2000


def settings_of(kind: str) -> list[Setting]:
    return SETTINGS[kind]


def check_url(value: str) -> str | None:
    """Why `value` is not an http(s) URL with a host, or None when it is one."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"must start with http:// or https:// (not {parts.scheme or 'nothing'}://)"
    if not parts.hostname:
        return "has no host name"
    try:
        parts.port  # noqa: B018 — raises on a port out of range
    except ValueError:
        return "has a port that is not a number from 0 to 65535"
    if any(c.isspace() for c in value):
        return "may not contain spaces"
    return None


def check_settings(
    kind: str, given: dict[str, Any], sealed: dict[str, str]
) -> tuple[dict[str, str], dict[str, str], list[FieldProblem]]:
    """Validate an endpoint's settings: (config, secrets, problems).

    A secret left out or empty keeps the stored one (`sealed`), so an edit form never
    needs to show it back.
    """
    problems: list[FieldProblem] = []
    known = {s.name for s in SETTINGS[kind]}
    for name in sorted(set(given) - known):
        problems.append(
            FieldProblem(
                f"settings.{name}",
                f"is not a setting of a {kind} endpoint (it takes {', '.join(sorted(known))})",
            )
        )
    config: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for setting in SETTINGS[kind]:
        raw = given.get(setting.name)
        if raw is not None and not isinstance(raw, str):
            problems.append(
                FieldProblem(setting.name, "must be text", None if setting.secret else raw)
            )
            continue
        value = (raw or "").strip()
        if not value and setting.secret:
            value = sealed.get(setting.name, "")
        if not value:
            value = setting.default
        if not value:
            if setting.required:
                problems.append(FieldProblem(setting.name, "is required"))
            continue
        if len(value) > MAX_SETTING_CHARS:
            problems.append(FieldProblem(setting.name, f"is longer than {MAX_SETTING_CHARS}"))
            continue
        if setting.url:
            why = check_url(value)
            if why:
                problems.append(FieldProblem(setting.name, why, None if setting.secret else value))
                continue
            value = value.rstrip("/") if setting.name == "base_url" else value
        if setting.name == "signing_secret" and len(value) < MIN_SIGNING_SECRET:
            problems.append(
                FieldProblem(setting.name, f"must be at least {MIN_SIGNING_SECRET} characters")
            )
            continue
        (secrets if setting.secret else config)[setting.name] = value
    return config, secrets, problems


def target_of(kind: str, config: dict[str, str]) -> str:
    """Where an endpoint sends, in words that reveal no secret."""
    if kind == ChannelKind.SLACK:
        return "Slack incoming webhook"
    if kind == ChannelKind.TRELLO:
        return f"{config.get('base_url', TRELLO_BASE)} · list {config.get('list_id', '')}"
    if kind == ChannelKind.ASANA:
        return f"{config.get('base_url', ASANA_BASE)} · project {config.get('project_gid', '')}"
    return config.get("url", "")


# --- messages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    """What is sent: the notification with its idempotency id, ready for any channel."""

    uid: str
    event: str
    key: str
    created_at: str
    payload: dict[str, Any]

    @property
    def title(self) -> str:
        return str(self.payload.get("title") or self.event)

    @property
    def text(self) -> str:
        return str(self.payload.get("text") or "")

    @property
    def url(self) -> str:
        return str(self.payload.get("url") or "")

    @property
    def fields(self) -> list[tuple[str, str]]:
        found = self.payload.get("fields") or {}
        if not isinstance(found, dict):
            return []
        return [(str(k), "" if v is None else str(v)) for k, v in found.items()]

    def envelope(self) -> dict[str, Any]:
        """The webhook body: who, what, when, and the event's payload under `data`."""
        return {
            "id": self.uid,
            "event": self.event,
            "key": self.key,
            "created_at": self.created_at,
            "data": self.payload,
        }

    def plain_text(self) -> str:
        """The text, the fields one per line, and the link: for Trello and Asana."""
        lines = [self.text] if self.text else []
        lines += [f"{label}: {value}" for label, value in self.fields]
        if self.url:
            lines += ["", self.url]
        return "\n".join(lines)


@dataclass
class SendResult:
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: int = 0
    retry_after: int | None = None
    # Known in advance to fail the same way again (e.g. a secret that cannot be read).
    permanent: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


# Client errors worth trying again: a timeout on their side, a conflict, too early, too many.
RETRYABLE_4XX = {408, 409, 425, 429}


def is_permanent(result: SendResult) -> bool:
    """An answer that trying again will not change: a 4xx (bad URL, token, list…) or a redirect.

    It goes to the dead letters at once, with the status and the body, for an admin to
    fix the endpoint and retry. 408, 409, 425, 429, 5xx and network errors are retried.
    """
    code = result.status_code
    if code is None:
        return result.permanent
    return (300 <= code < 500) and code not in RETRYABLE_4XX


def _excerpt(body: bytes | str) -> str:
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return text[:EXCERPT_CHARS]


def _retry_after(value: str | None) -> int | None:
    if value and value.strip().isdigit():
        return int(value.strip())
    return None


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def _http() -> httpx.Client:
    """One client for the process: its TLS context and connections are reused (building a
    TLS context costs tens of milliseconds of CPU, more than a local request)."""
    global _client
    with _client_lock:
        if _client is None:
            _client = httpx.Client(follow_redirects=False, trust_env=False)
        return _client


def _post(
    url: str, *, headers: dict[str, str], content: bytes | None = None, data: dict | None = None
) -> SendResult:
    """POST with the timeouts; the response is read within what is left of the total budget."""
    started = time.monotonic()
    deadline = started + TOTAL_TIMEOUT
    timeout = httpx.Timeout(TOTAL_TIMEOUT, connect=CONNECT_TIMEOUT)
    headers = {"User-Agent": USER_AGENT, **headers}
    try:
        client = _http()
        request = client.build_request(
            "POST", url, headers=headers, content=content, data=data, timeout=timeout
        )
        response = client.send(request, stream=True)
        try:
            body = bytearray()
            for chunk in response.iter_bytes():
                body.extend(chunk[: MAX_RESPONSE_BYTES - len(body)])
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("the response took longer than the total budget")
                if len(body) >= MAX_RESPONSE_BYTES:
                    break
        finally:
            response.close()
    except httpx.TimeoutException as exc:
        kind = "connect" if isinstance(exc, httpx.ConnectTimeout) else "response"
        return SendResult(
            error=f"Timed out waiting for the {kind} after {time.monotonic() - started:.1f} s.",
            duration_ms=_ms(started),
        )
    except httpx.HTTPError as exc:
        return SendResult(error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))
    result = SendResult(
        status_code=response.status_code,
        excerpt=_excerpt(bytes(body)),
        duration_ms=_ms(started),
        retry_after=_retry_after(response.headers.get("retry-after")),
    )
    if response.is_redirect:
        result.error = f"Redirected to {response.headers.get('location', '?')}; use that address."
    elif not response.is_success:
        result.error = f"HTTP {response.status_code}"
    return result


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


# --- the four channels ---------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_blocks(message: Message) -> list[dict[str, Any]]:
    """Block Kit: a header, the text, the fields (two columns) and a button back to the app."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": message.title[:SLACK_HEADER_CHARS]},
        }
    ]
    if message.text:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _mrkdwn(message.text)[:SLACK_TEXT_CHARS]},
            }
        )
    fields = message.fields[:SLACK_FIELDS]
    if fields:
        blocks.append(
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{_mrkdwn(label)}*\n{_mrkdwn(value)}"[:2000]}
                    for label, value in fields
                ],
            }
        )
    if message.url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open in Smarketing"},
                        "url": message.url,
                        "action_id": "open",
                    }
                ],
            }
        )
    return blocks


def _header(headers: dict | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value[0] if isinstance(value, list) and value else value
    return None


def send_slack(config: dict, secrets: dict, message: Message) -> SendResult:
    started = time.monotonic()
    # No retry handlers: the outbox retries, on its own schedule.
    client = WebhookClient(secrets["webhook_url"], timeout=int(TOTAL_TIMEOUT), retry_handlers=[])
    fallback = f"{message.title}: {message.text}" if message.text else message.title
    try:
        response = client.send(text=fallback, blocks=slack_blocks(message))
    except TimeoutError as exc:
        return SendResult(error=f"Timed out: {exc or 'no answer'}.", duration_ms=_ms(started))
    except urllib.error.URLError as exc:
        return SendResult(error=f"Could not connect: {exc.reason}", duration_ms=_ms(started))
    except OSError as exc:
        return SendResult(error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))
    result = SendResult(
        status_code=response.status_code,
        excerpt=_excerpt(response.body or ""),
        duration_ms=_ms(started),
        retry_after=_retry_after(_header(response.headers, "retry-after")),
    )
    if not (200 <= response.status_code < 300):
        result.error = f"Slack answered HTTP {response.status_code}: {result.excerpt[:200]}"
    return result


def send_trello(config: dict, secrets: dict, message: Message) -> SendResult:
    """A card on the list: name, description (text, fields, link) and the link attached."""
    form = {
        "idList": config["list_id"],
        "name": message.title[:16384],
        "desc": message.plain_text()[:16384],
    }
    if message.url:
        form["urlSource"] = message.url
    auth = f'OAuth oauth_consumer_key="{config["api_key"]}", oauth_token="{secrets["token"]}"'
    base = config.get("base_url") or TRELLO_BASE
    return _post(f"{base}/1/cards", headers={"Authorization": auth}, data=form)


def send_asana(config: dict, secrets: dict, message: Message) -> SendResult:
    """A task in the project: name and notes (text, fields, link)."""
    data: dict[str, Any] = {
        "name": message.title,
        "notes": message.plain_text(),
        "projects": [config["project_gid"]],
    }
    if config.get("workspace_gid"):
        data["workspace"] = config["workspace_gid"]
    base = config.get("base_url") or ASANA_BASE
    return _post(
        f"{base}/api/1.0/tasks",
        headers={
            "Authorization": f"Bearer {secrets['token']}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        content=json.dumps({"data": data}).encode(),
    )


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256 over `{timestamp}.{body}` with the signing secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


# Receivers should refuse a timestamp further than this from their clock (replays).
REPLAY_TOLERANCE_SECONDS = 300


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    tolerance: int = REPLAY_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """What a receiver does (docs/notifications.md): a fresh timestamp and a matching signature."""
    if not timestamp.isdigit():
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def webhook_request(secret: str, message: Message, *, now: float | None = None):
    """The body and headers of a signed webhook call."""
    body = json.dumps(message.envelope(), separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "X-Smarketing-Event": message.event,
        "X-Smarketing-Delivery": message.uid,
        "X-Smarketing-Timestamp": str(timestamp),
        "X-Smarketing-Signature": sign(secret, timestamp, body),
    }
    return body, headers


def send_webhook(config: dict, secrets: dict, message: Message) -> SendResult:
    body, headers = webhook_request(secrets["signing_secret"], message)
    return _post(config["url"], headers=headers, content=body)


SENDERS = {
    ChannelKind.SLACK: send_slack,
    ChannelKind.TRELLO: send_trello,
    ChannelKind.ASANA: send_asana,
    ChannelKind.WEBHOOK: send_webhook,
}


def send(kind: str, config: dict, secrets: dict, message: Message) -> SendResult:
    """Send `message`; never raises: any failure comes back as the result's error."""
    started = time.monotonic()
    try:
        return SENDERS[kind](config, secrets, message)
    except Exception as exc:  # a bug or an odd answer must not stop the other deliveries
        return SendResult(error=f"{type(exc).__name__}: {exc}", duration_ms=_ms(started))

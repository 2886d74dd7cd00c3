"""Settings, Notifications: endpoints and their events, a test button, the delivery log, dead letters."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import push_url

from smarketing.core.errors import DomainError, NotAllowed, NotFound
from smarketing.integrations.actions import (
    MANAGE,
    do_create_endpoint,
    do_retry,
    do_retry_dead,
    do_send_test,
    do_update_endpoint,
)
from smarketing.integrations.channels import settings_of, target_of
from smarketing.integrations.choices import SUBSCRIBABLE, ChannelKind, DeliveryStatus, Event
from smarketing.integrations.models import Delivery, Endpoint
from smarketing.integrations.selectors import (
    DeliveryFilter,
    delivery_log,
    endpoints_with_subscriptions,
    secret_state,
    status_counts,
)
from smarketing.web.rendering import done, form_page, page, render_page
from smarketing.web.views.contacts import web_actor

DELIVERIES_PER_PAGE = 50
DEAD_SHOWN = 20
BADGES = {
    DeliveryStatus.DELIVERED: "badge ok",
    DeliveryStatus.PENDING: "badge",
    DeliveryStatus.DELIVERING: "badge status-approved",
    DeliveryStatus.FAILED: "badge status-pending",
    DeliveryStatus.DEAD: "badge status-rejected",
}


class EndpointForm(forms.Form):
    """Name, events and the settings of one kind of endpoint; secrets are never filled back in."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=120, required=False)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Send these events"),
        choices=[(e.value, e.label) for e in SUBSCRIBABLE],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, kind: str, *args: Any, endpoint: Endpoint | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.setting_names = []
        shown = secret_state(endpoint) if endpoint is not None else {}
        for setting in settings_of(kind):
            help_text = str(setting.help or "")
            if setting.secret:
                widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"})
                if shown.get(setting.name, "not set") != "not set":
                    help_text = _("%(state)s; leave blank to keep it.") % {
                        "state": shown[setting.name]
                    }
            else:
                widget = forms.TextInput(
                    attrs={"placeholder": setting.default} if setting.default else {}
                )
            self.fields[setting.name] = forms.CharField(
                label=setting.label,
                required=False,
                help_text=help_text,
                widget=widget,
                max_length=2000,
            )
            self.setting_names.append(setting.name)

    def settings(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name) or "" for name in self.setting_names}


def _initial(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "active": endpoint.is_active,
        "events": list(endpoint.subscriptions.values_list("event", flat=True)),
        **endpoint.config,
    }


def _kind(kind: str) -> str:
    if kind not in ChannelKind.values:
        raise Http404(_("No such kind of endpoint."))
    return kind


def _with_badges(deliveries) -> list[Delivery]:
    found = list(deliveries)
    for delivery in found:
        delivery.badge = BADGES[delivery.status]
    return found


def _back(request: HttpRequest, default: str) -> str:
    url = request.POST.get("next") or ""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return url
    return default


# --- the page ------------------------------------------------------------------------------


@page(MANAGE)
def notification_settings(request: HttpRequest) -> HttpResponse:
    endpoints = list(endpoints_with_subscriptions())
    for endpoint in endpoints:
        endpoint.secret_display = secret_state(endpoint)
        endpoint.target = target_of(endpoint.kind, endpoint.config)
        endpoint.event_labels = [Event(s.event).label for s in endpoint.subscriptions.all()]
    dead = _with_badges(delivery_log(DeliveryFilter(status=DeliveryStatus.DEAD))[:DEAD_SHOWN])
    counts = status_counts()
    return render_page(
        request,
        "web/notifications/index.html",
        {
            "endpoints": endpoints,
            "kinds": ChannelKind.choices,
            "dead": dead,
            "counts": [(DeliveryStatus(s).label, s, n, BADGES[s]) for s, n in counts.items()],
            "dead_total": counts[DeliveryStatus.DEAD],
        },
    )


@page(MANAGE)
def endpoint_create(request: HttpRequest, kind: str) -> HttpResponse:
    kind = _kind(kind)
    form = EndpointForm(kind, request.POST or None, initial={"active": True})

    def create() -> HttpResponse:
        data = form.cleaned_data
        endpoint = do_create_endpoint(
            name=data["name"],
            kind=kind,
            settings=form.settings(),
            events=data["events"],
            active=data["active"],
            actor=web_actor(request),
        )
        messages.success(request, _("Endpoint %(name)s added.") % {"name": endpoint.name})
        return done(request, reverse("web:notifications"))

    return form_page(
        request,
        form,
        create,
        "web/notifications/endpoint_form.html",
        partial="web/notifications/_endpoint_form.html",
        context={
            "kind_label": ChannelKind(kind).label,
            "action": reverse("web:notification_endpoint_create", args=[kind]),
        },
    )


@page(MANAGE)
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    form = EndpointForm(
        endpoint.kind, request.POST or None, endpoint=endpoint, initial=_initial(endpoint)
    )

    def save() -> HttpResponse:
        data = form.cleaned_data
        do_update_endpoint(
            endpoint,
            name=data["name"],
            settings=form.settings(),
            events=data["events"],
            active=data["active"],
            actor=web_actor(request),
        )
        messages.success(request, _("Endpoint %(name)s saved.") % {"name": endpoint.name})
        return done(request, reverse("web:notifications"))

    return form_page(
        request,
        form,
        save,
        "web/notifications/endpoint_form.html",
        partial="web/notifications/_endpoint_form.html",
        context={
            "endpoint": endpoint,
            "kind_label": endpoint.get_kind_display(),
            "action": reverse("web:notification_endpoint_edit", args=[endpoint.pk]),
        },
    )


@require_POST
@page(MANAGE)
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a test message now; the answer (status code or error) replaces the button's slot."""
    endpoint = get_object_or_404(Endpoint, pk=pk)
    context: dict[str, Any] = {"endpoint": endpoint}
    try:
        context["attempt"] = do_send_test(endpoint, actor=web_actor(request))
    except (NotAllowed, NotFound):
        raise
    except DomainError as exc:
        context["refusal"] = exc.message
    return render_page(
        request,
        "web/notifications/test_result.html",
        context,
        partial="web/notifications/_test_result.html",
    )


# --- deliveries ----------------------------------------------------------------------------


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[("", gettext_lazy("Any status")), *DeliveryStatus.choices],
    )
    event = forms.ChoiceField(
        label=gettext_lazy("Event"),
        required=False,
        choices=[("", gettext_lazy("Any event")), *Event.choices],
    )
    endpoint = forms.TypedChoiceField(
        label=gettext_lazy("Endpoint"), required=False, coerce=int, empty_value=None
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].choices = [
            ("", _("Any endpoint")),
            *Endpoint.objects.order_by("name").values_list("pk", "name"),
        ]


@page(MANAGE)
def delivery_list(request: HttpRequest) -> HttpResponse:
    form = DeliveryFilterForm(request.GET)
    if form.is_valid():
        data = form.cleaned_data
        deliveries = delivery_log(
            DeliveryFilter(status=data["status"], event=data["event"], endpoint=data["endpoint"])
        )
    else:
        deliveries = Delivery.objects.none()
    delivery_page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    delivery_page.object_list = _with_badges(delivery_page.object_list)
    response = render_page(
        request,
        "web/notifications/deliveries.html",
        {"form": form, "delivery_page": delivery_page},
        partial="web/notifications/_deliveries.html",
    )
    if request.htmx:
        query = {k: v for k, v in request.GET.items() if v}
        push_url(response, f"{request.path}?{urlencode(query)}" if query else request.path)
    return response


@page(MANAGE)
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery.objects.select_related("notification", "endpoint"), pk=pk)
    return render_page(
        request,
        "web/notifications/delivery.html",
        {
            "delivery": _with_badges([delivery])[0],
            "attempts": delivery.attempt_log.order_by("-number", "-id"),
            "outcome_badges": BADGES,
        },
    )


@require_POST
@page(MANAGE)
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = get_object_or_404(Delivery.objects.select_related("endpoint"), pk=pk)
    try:
        do_retry(delivery, actor=web_actor(request))
    except DomainError as exc:
        if exc.http_status in (403, 404):
            raise
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Delivery #%(id)s will be sent again.") % {"id": pk})
    return redirect(_back(request, reverse("web:notifications")))


@require_POST
@page(MANAGE)
def retry_dead(request: HttpRequest) -> HttpResponse:
    count = do_retry_dead(actor=web_actor(request))
    messages.success(request, _("%(count)s dead deliveries will be sent again.") % {"count": count})
    return redirect(_back(request, reverse("web:notifications")))

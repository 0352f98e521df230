"""The webhooks monitoring tools call, and the page listing integrations for staff.

Thin: a webhook authenticates, reads, rate-limits, calls one action and answers. The
answer tells the sender what to do: 202 stored (and only once committed), 400 unreadable
(do not resend), 401/403 credentials, 404 no such active integration, 413 too large,
429 over the integration's rate limit, 503 database unavailable (resend later; both 429
and 503 carry Retry-After).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from incidents.querysets import is_staff

from . import actions, credentials, payloads, ratelimit
from .models import Integration

DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_DOWN = 10  # seconds


def _answer(status: int, detail: str, **headers) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _unavailable() -> JsonResponse:
    return _answer(503, _("The desk cannot store alerts right now; send them again."), Retry_After=RETRY_AFTER_DOWN)


@csrf_exempt
@require_POST
def receive(request, kind, pk):
    try:
        integration = Integration.objects.filter(pk=pk, kind=kind, is_active=True).first()
    except DATABASE_DOWN:
        return _unavailable()
    if integration is None:
        return _answer(404, _("No such integration."))
    try:
        body = request.body
    except RequestDataTooBig:
        return _answer(413, _("The request is too large; send fewer alerts at once."))
    try:
        credentials.check(integration, request.headers, body)
    except credentials.Unauthenticated as missing:
        return _answer(401, str(missing), WWW_Authenticate='Bearer realm="firebreak-alerts"')
    except credentials.Rejected as wrong:
        return _answer(403, str(wrong))
    try:
        alerts = payloads.parse(kind, body, key_labels=integration.fingerprint_labels)
    except payloads.Invalid as invalid:
        return _answer(400, invalid.message)
    wait = ratelimit.admit(integration, len(alerts))
    if wait:
        actions.refuse_alerts(integration, len(alerts))
        return _answer(429, _("Too many alerts for this integration; send them again later."), Retry_After=wait)
    try:
        stored = actions.receive_alerts(integration, alerts)
    except DATABASE_DOWN:
        return _unavailable()
    return JsonResponse({"stored": len(stored)}, status=202)


@login_required
def integration_list(request):
    """Integrations of the user's services (all of them for operators and managers), with
    alerts received, waiting, open groups and alerts refused by the rate limit."""
    if not is_staff(request.user):
        raise PermissionDenied
    integrations = list(
        Integration.objects.visible_to(request.user).with_counts().select_related("service", "application")
    )
    pending = ratelimit.pending_refused(integration.pk for integration in integrations)
    rows = [
        {
            "integration": integration,
            "refused": integration.refused_count + pending.get(integration.pk, 0),
            "endpoint": request.build_absolute_uri(
                reverse(f"alerts:receive-{integration.kind}", args=[integration.pk])
            ),
        }
        for integration in integrations
    ]
    return render(request, "alerts/integration_list.html", {"rows": rows})

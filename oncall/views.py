"""The on-call schedule page, the acknowledge link and the ticket page's Acknowledge button.

Thin: check who may look, read, call one action, respond. The acknowledge link needs no
session (the signed token names the page and the person): GET only shows a confirmation,
so a mail scanner following the link acknowledges nothing; the button POSTs.
"""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from incidents import actions as desk
from incidents.models import Service, Ticket
from incidents.rules import service_ids_of

from . import actions, links, rules, schedule
from .models import EscalationPolicy, EscalationState, Page, Rotation

WEEKS = 4  # how far ahead the schedule page looks


@login_required
def schedule_page(request):
    """Who is on call now in each active service, their shifts for the coming weeks, and
    each service's escalation policy. Staff only; a fixed number of queries."""
    if not rules.can_see_schedules(request.user):
        raise PermissionDenied
    start = timezone.now()
    end = start + timedelta(weeks=WEEKS)
    services = Service.objects.filter(is_active=True).order_by("name")
    rotations = Rotation.objects.filter(service__is_active=True).with_schedule(start, end).order_by("name", "pk")
    policies = EscalationPolicy.objects.filter(service__is_active=True).with_steps()
    context = {
        "services": schedule.board(services, rotations, policies, start=start, end=end),
        "weeks": WEEKS,
        "my_services": service_ids_of(request.user),
    }
    return render(request, "oncall/schedule.html", context)


def _page_of(token):
    """(page, problem): the page a link names, or "expired" / "invalid"."""
    try:
        page_id, user_id = links.read_token(token)
    except signing.SignatureExpired:
        return None, "expired"
    except signing.BadSignature:
        return None, "invalid"
    page = (
        Page.objects.select_related("user", "escalation__ticket", "escalation__acknowledged_by")
        .filter(pk=page_id, user_id=user_id)
        .first()
    )
    return (page, None) if page is not None else (None, "invalid")


@never_cache
@require_http_methods(["GET", "POST"])
def acknowledge(request, token):
    """The link of a page's SMS and e-mail. GET: what it acknowledges, and a button (or
    who acknowledged already, and when); POST: acknowledge as the person paged."""
    page, problem = _page_of(token)
    if page is None:
        return render(
            request, "oncall/acknowledge.html", {"problem": problem}, status=410 if problem == "expired" else 404
        )
    with translation.override(page.user.language or translation.get_language()):
        context = {"page": page, "ticket": page.escalation.ticket, "escalation": page.escalation, "token": token}
        if request.method == "POST":
            try:
                actions.acknowledge_page(page, by=page.user)
            except desk.Refused as refused:
                return render(request, "oncall/acknowledge.html", {**context, "refused": refused.message}, status=409)
            return render(request, "oncall/acknowledge.html", {**context, "done": True})
        if page.escalation.state == EscalationState.ACKNOWLEDGED:
            context["refused"] = actions.already_acknowledged(page.escalation)
        elif page.escalation.state == EscalationState.STOPPED:
            context["refused"] = _("Paging for this ticket has stopped: nothing to acknowledge.")
        return render(request, "oncall/acknowledge.html", context)


@login_required
@require_POST
def ticket_acknowledge(request, number):
    """The Acknowledge button of the ticket page, for the person paged."""
    ticket = get_object_or_404(Ticket.objects.visible_to(request.user), number=number)
    page = Page.objects.awaiting(user=request.user, ticket=ticket).select_related("escalation__ticket").last()
    if page is None:
        messages.error(request, _("You have no page to acknowledge on this ticket."))
        return redirect(ticket)
    try:
        actions.acknowledge_page(page, by=request.user)
    except desk.Refused as refused:
        messages.error(request, refused.message)
    else:
        messages.success(request, _("Page acknowledged: nobody else is paged for %(number)s.") % {"number": number})
    return redirect(ticket)

"""Desk pages. Thin: fetch through visible_to, bind a form, call one action, respond."""

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from oncall.models import Page

from . import actions, rules
from .filters import SORTS, TicketFilter
from .forms import (
    AssignForm,
    CommentForm,
    DecisionForm,
    InterventionForm,
    PortalTicketForm,
    ReclassifyForm,
    RerouteForm,
    StatusCommentForm,
    TicketIntakeForm,
    WatcherForm,
)
from .models import Attachment, Channel, Status, Ticket
from .pagination import paginate
from .ticket_page import read_ticket_page

# Types a browser would render or run: served as opaque bytes, whatever the sender said.
RENDERED_TYPES = {
    "text/html",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "application/javascript",
    "text/javascript",
}

LISTS = {
    "current": {
        "title": gettext_lazy("Current tickets"),
        # Evolution requests wait in their own list (seed 004), not among current tickets.
        "statuses": [Status.OPEN],
        "sorts": ["newest", "oldest", "priority", "updated"],
        "counted": True,
    },
    "evolution": {
        "title": gettext_lazy("Evolution requests"),
        "statuses": [Status.PENDING_DECISION],
        "sorts": ["oldest", "newest", "priority"],
        "counted": True,
    },
    "closed": {
        "title": gettext_lazy("Closed tickets"),
        "statuses": [Status.CLOSED],
        # A closed-history total would count millions of rows: it is omitted.
        "sorts": ["closed", "newest", "oldest"],
        "counted": False,
    },
}


def _scope(queryset, statuses):
    return queryset.filter(status__in=statuses) if len(statuses) > 1 else queryset.filter(status=statuses[0])


def is_staff_member(user) -> bool:
    return user.has_perm("incidents.see_all_tickets") or user.has_perm("incidents.work_tickets")


@login_required
def ticket_list(request, which):
    spec = LISTS[which]
    tickets = _scope(Ticket.objects.visible_to(request.user), spec["statuses"])
    filterset = TicketFilter(
        request.GET,
        queryset=tickets,
        sorts=spec["sorts"],
        statuses=spec["statuses"] if len(spec["statuses"]) > 1 else (),
        staff=is_staff_member(request.user),
    )
    filtered = filterset.qs
    sort = filterset.form.cleaned_data.get("sort") or spec["sorts"][0]
    cursor, size = request.GET.get("cursor"), settings.FIREBREAK_PAGE_SIZE
    page = paginate(filtered.with_list_columns(), SORTS[sort][1], cursor, size)
    context = {
        "which": which,
        "title": spec["title"],
        "filterset": filterset,
        "page": page,
        "total": filtered.count() if spec["counted"] else None,
        "query": request.GET.copy(),
    }
    template = "incidents/ticket_list.html"
    if request.htmx and request.htmx.target == "ticket-list-results":
        template += "#results"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _visible_ticket(request, number) -> Ticket:
    """The ticket, if this user may see it; any other ticket is a 404, like a missing one."""
    return get_object_or_404(Ticket.objects.visible_to(request.user).with_page_columns(), number=number)


def _action_forms(ticket, user, allowed, bound=None):
    forms = {
        "comment": CommentForm(internal_allowed=allowed["internal_note"]),
        "intervention": InterventionForm(prefix="intervention") if allowed["intervention"] else None,
        "reroute": RerouteForm(ticket=ticket, prefix="reroute") if allowed["reroute"] else None,
        "close": StatusCommentForm(prefix="close") if allowed["close"] else None,
        "reopen": StatusCommentForm(prefix="reopen") if allowed["reopen"] else None,
        "decide": DecisionForm(prefix="decide") if allowed["decide"] else None,
        "assign": AssignForm(ticket=ticket, prefix="assign") if allowed["assign"] else None,
        "watcher": WatcherForm() if allowed["add_watcher"] else None,
        "reclassify": ReclassifyForm(
            prefix="reclassify", initial={"gravity": ticket.gravity, "criticality": ticket.criticality}
        )
        if allowed["reclassify"]
        else None,
    }
    if bound:
        forms.update(bound)
    return forms


def _render_ticket(request, ticket, bound=None, status=200):
    page = read_ticket_page(ticket, request.user)
    context = {
        "watchers": page.watchers,
        "watching": any(w.user_id == request.user.pk for w in page.watchers),
        "ticket": ticket,
        "entries": page.entries,
        "timeline_truncated": page.truncated,
        "allowed": page.allowed,
        "forms": _action_forms(ticket, request.user, page.allowed, bound),
        # The page this user may acknowledge here, if the ticket is paging them.
        "awaiting_page": Page.objects.awaiting(user=request.user, ticket=ticket).last(),
    }
    template = "incidents/ticket_detail.html"
    if request.htmx:
        template += "#main"
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def ticket_detail(request, number):
    return _render_ticket(request, _visible_ticket(request, number))


def _after_action(request, ticket, message):
    """Back to the ticket, or to the list when the action took it out of the user's sight."""
    messages.success(request, message)
    if not Ticket.objects.visible_to(request.user).filter(pk=ticket.pk).exists():
        url = "incidents:current"
        return HttpResponseClientRedirect(reverse(url)) if request.htmx else redirect(url)
    if request.htmx:
        return _render_ticket(request, _visible_ticket(request, ticket.number))
    return redirect(ticket)


def _act(request, number, name, form, perform, success):
    """Shared shape of every ticket action: validate, call the action, show its outcome."""
    ticket = _visible_ticket(request, number)
    form = form(ticket) if callable(form) else form
    if form.is_valid():
        try:
            perform(ticket, form.cleaned_data)
        except actions.Refused as refused:
            field = refused.field if refused.field in form.fields else None
            form.add_error(field, refused.message)
        else:
            return _after_action(request, ticket, success(ticket))
    return _render_ticket(request, ticket, bound={name: form})


@login_required
@require_POST
def ticket_comment(request, number):
    return _act(
        request,
        number,
        "comment",
        lambda t: CommentForm(
            request.POST, request.FILES, internal_allowed=rules.can_write_internal_note(request.user, t)
        ),
        lambda t, d: actions.add_comment(
            t, by=request.user, body=d["body"], internal=d.get("internal", False), files=d["attachments"]
        ),
        lambda t: _("Comment added."),
    )


@login_required
@require_POST
def ticket_intervention(request, number):
    return _act(
        request,
        number,
        "intervention",
        InterventionForm(request.POST, prefix="intervention"),
        lambda t, d: actions.log_intervention(
            t, by=request.user, performed_at=d["performed_at"], minutes=d["minutes"], body=d["body"]
        ),
        lambda t: _("Intervention logged."),
    )


@login_required
@require_POST
def ticket_reroute(request, number):
    return _act(
        request,
        number,
        "reroute",
        lambda t: RerouteForm(request.POST, ticket=t, prefix="reroute"),
        lambda t, d: actions.reroute_ticket(t, by=request.user, to=d["service"], justification=d["justification"]),
        lambda t: _("Ticket %(number)s re-routed to %(service)s.") % {"number": t.number, "service": t.service},
    )


@login_required
@require_POST
def ticket_close(request, number):
    return _act(
        request,
        number,
        "close",
        StatusCommentForm(request.POST, prefix="close"),
        lambda t, d: actions.close_ticket(t, by=request.user, comment=d["comment"]),
        lambda t: _("Ticket %(number)s closed.") % {"number": t.number},
    )


@login_required
@require_POST
def ticket_reopen(request, number):
    return _act(
        request,
        number,
        "reopen",
        StatusCommentForm(request.POST, prefix="reopen"),
        lambda t, d: actions.reopen_ticket(t, by=request.user, comment=d["comment"]),
        lambda t: _("Ticket %(number)s reopened.") % {"number": t.number},
    )


@login_required
@require_POST
def ticket_decide(request, number):
    return _act(
        request,
        number,
        "decide",
        DecisionForm(request.POST, prefix="decide"),
        lambda t, d: actions.decide_evolution_request(
            t, by=request.user, accept=d["decision"] == "accept", comment=d["comment"]
        ),
        lambda t: _("Decision recorded on %(number)s.") % {"number": t.number},
    )


@login_required
@require_POST
def ticket_assign(request, number):
    return _act(
        request,
        number,
        "assign",
        lambda t: AssignForm(request.POST, ticket=t, prefix="assign"),
        lambda t, d: actions.assign_ticket(t, by=request.user, to=d["assignee"]),
        lambda t: _("Ticket %(number)s assigned to %(person)s.") % {"number": t.number, "person": t.assignee},
    )


@login_required
@require_POST
def ticket_take(request, number):
    return _act(
        request,
        number,
        "assign",
        django_forms.Form(request.POST),
        lambda t, d: actions.take_ticket(t, by=request.user),
        lambda t: _("You took ticket %(number)s.") % {"number": t.number},
    )


@login_required
@require_POST
def ticket_watch(request, number):
    """Watch or stop watching a ticket one can see."""
    ticket = _visible_ticket(request, number)
    stop = request.POST.get("stop") == "1"
    try:
        (actions.unwatch_ticket if stop else actions.watch_ticket)(ticket, by=request.user)
    except actions.Refused as refused:
        messages.error(request, refused.message)
        return _render_ticket(request, ticket)
    return _after_action(
        request, ticket, _("You no longer watch this ticket.") if stop else _("You watch this ticket.")
    )


@login_required
@require_POST
def ticket_watcher_add(request, number):
    return _act(
        request,
        number,
        "watcher",
        WatcherForm(request.POST),
        lambda t, d: actions.watch_ticket(t, by=request.user, user=d["user"]),
        lambda t: _("Watcher added."),
    )


@login_required
@require_POST
def ticket_watcher_remove(request, number, user_id):
    ticket = _visible_ticket(request, number)
    watcher = get_object_or_404(ticket.watchers.select_related("user"), user_id=user_id)
    try:
        actions.unwatch_ticket(ticket, by=request.user, user=watcher.user)
    except actions.Refused as refused:
        messages.error(request, refused.message)
        return _render_ticket(request, ticket)
    return _after_action(request, ticket, _("Watcher removed."))


@login_required
def attachment_download(request, number, pk):
    """A file of a ticket the user sees, from an entry they see; always as a download."""
    ticket = _visible_ticket(request, number)
    entries = ticket.timeline.for_viewer(request.user)
    attachment = get_object_or_404(Attachment.objects.filter(ticket=ticket, entry__in=entries), pk=pk)
    response = FileResponse(
        attachment.file.open("rb"),
        as_attachment=True,
        filename=attachment.name,
        content_type="application/octet-stream"
        if attachment.content_type in RENDERED_TYPES
        else attachment.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
@require_POST
def ticket_reclassify(request, number):
    return _act(
        request,
        number,
        "reclassify",
        ReclassifyForm(request.POST, prefix="reclassify"),
        lambda t, d: actions.reclassify_ticket(
            t, by=request.user, gravity=d["gravity"], criticality=d["criticality"], comment=d["comment"]
        ),
        lambda t: (
            _("Ticket %(number)s reclassified: %(priority)s.")
            % {"number": t.number, "priority": t.get_priority_display()}
        ),
    )


@login_required
def ticket_report(request):
    """The self-service portal: anyone reports trouble for themself."""
    form = PortalTicketForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = actions.open_ticket(
                by=request.user,
                reporter=request.user,
                application=data["application"],
                service=data["application"].default_service,
                title=data["title"],
                description=data["description"],
                gravity=data["gravity"],
                criticality=data["criticality"],
                channel=Channel.PORTAL,
                files=data["attachments"],
            )
        except actions.Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(
                request,
                _("Your ticket %(number)s is registered. You will be told of its progress.")
                % {"number": ticket.number},
            )
            return redirect(ticket)
    return render(request, "incidents/ticket_report.html", {"form": form})


@login_required
def ticket_create(request):
    if not rules.can_open_ticket(request.user):
        raise PermissionDenied
    form = TicketIntakeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            ticket = actions.open_ticket(
                by=request.user,
                reporter=data["reporter"],
                application=data["application"],
                service=data["service"],
                title=data["title"],
                description=data["description"],
                gravity=data["gravity"],
                criticality=data["criticality"],
                channel=data["channel"],
            )
        except actions.Refused as refused:
            form.add_error(refused.field if refused.field in form.fields else None, refused.message)
        else:
            messages.success(request, _("Ticket %(number)s created.") % {"number": ticket.number})
            return redirect(ticket)
    return render(request, "incidents/ticket_create.html", {"form": form, "matrix": rules.matrix_rows()})

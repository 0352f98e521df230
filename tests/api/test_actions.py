"""Changing tickets through the API: the web's permissions and actions, the right status codes.

The role x endpoint matrix is one parametrised test: allowed calls succeed through the
desk's action; refused ones answer 401/403/404 and leave the ticket and its timeline as
they were.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from incidents.models import Attachment, Kind, Status, Ticket, TimelineEntry

from ..factories import Role, UserFactory, open_ticket
from .conftest import PERSONAS

OP, DEV, NET, REP, OTHER, MGR, ANON = PERSONAS


def url(ticket, action=""):
    path = reverse("api:ticket-detail", kwargs={"number": ticket.number})
    return path + (f"{action}/" if action else "")


def expect(**codes):
    """Expected status per persona; `rest` for the others."""
    rest = codes.pop("rest", None)
    return {persona: codes.get(persona, rest) for persona in PERSONAS}


# Who may act on a ticket of the developers' queue reported by `reporter`: the service's
# technician (dev_tech) works it; operators and managers see it but do not work it; the
# reporter sees it and comments; the other service's technician and the other reporter
# do not see it (404); nobody authenticated is a 401.
WORKED_BY_THE_SERVICE = expect(dev_tech=201, operator=403, manager=403, reporter=403, rest=404, anonymous=401)
MATRIX = [
    ("comment", "ticket", {"body": "Any news?"}, expect(net_tech=404, other_reporter=404, anonymous=401, rest=201)),
    (
        "internal note",
        "ticket",
        {"body": "Reporter's PC is old.", "internal": True},
        expect(net_tech=404, other_reporter=404, anonymous=401, reporter=403, rest=201),
    ),
    (
        "intervention",
        "ticket",
        lambda: {"performed_at": timezone.now().isoformat(), "minutes": 20, "body": "Cleared the cache."},
        WORKED_BY_THE_SERVICE,
    ),
    ("reroute", "ticket", "reroute", WORKED_BY_THE_SERVICE),
    ("close", "ticket", {"comment": "Fixed."}, WORKED_BY_THE_SERVICE),
    ("reopen", "closed_ticket", {"comment": "It came back."}, WORKED_BY_THE_SERVICE),
    ("assign", "ticket", {"assignee": "dev"}, WORKED_BY_THE_SERVICE),
    ("take", "ticket", {}, WORKED_BY_THE_SERVICE),
    (
        "decide",
        "evolution_request",
        {"decision": "accept", "comment": "Planned for March."},
        expect(manager=201, operator=403, dev_tech=403, reporter=403, anonymous=401, rest=404),
    ),
]
PATHS = {"comment": "comments", "internal note": "comments", "intervention": "interventions"}


def snapshot(ticket):
    row = Ticket.objects.filter(pk=ticket.pk).values().get()
    return row, list(TimelineEntry.objects.filter(ticket_id=ticket.pk).values_list("pk", flat=True))


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize(("name", "target", "body", "codes"), MATRIX, ids=[row[0] for row in MATRIX])
def test_role_action_matrix(persona, name, target, body, codes, as_persona, request, net_service, dev_tech):
    ticket = request.getfixturevalue(target)
    body = {"service": net_service.pk, "justification": "DNS, not the app."} if body == "reroute" else body
    body = body() if callable(body) else body
    before = snapshot(ticket)

    response = as_persona(persona).post(url(ticket, PATHS.get(name, name)), body)

    assert response.status_code == codes[persona], response.content
    if response.status_code == 201:
        entry = TimelineEntry.objects.filter(ticket_id=ticket.pk).latest("pk")
        assert response.json()["id"] == entry.pk and response.json()["kind"] == entry.kind
        assert entry.author.username == ("dev" if persona == "dev_tech" else persona.replace("other_reporter", "other"))
        assert entry.pk not in before[1]
    else:
        assert snapshot(ticket) == before
        assert set(response.json()) <= {"detail", "errors"} and response.json()["detail"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_create(persona, as_persona, intranet, request):
    body = {
        "application": intranet.pk,
        "title": "Cannot print",
        "description": "The printer on floor 2 says offline.",
        "gravity": "annoying",
        "criticality": "non_blocking",
    }
    response = as_persona(persona).post(reverse("api:ticket-list"), body)
    if persona == "anonymous":
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == "Token"
        assert not Ticket.objects.exists()
        return
    user = request.getfixturevalue(persona)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(number=response.json()["number"])
    assert response["Location"].endswith(url(ticket))
    assert (ticket.reporter, ticket.created_by, ticket.channel) == (user, user, "api")
    assert ticket.service == intranet.default_service and ticket.priority == 3
    assert [e["kind"] for e in response.json()["timeline"]] == ["created"]


@pytest.mark.parametrize(
    ("persona", "code"),
    [(OP, 201), (MGR, 201), (DEV, 403), (NET, 403), (REP, 403), (OTHER, 403)],
)
def test_only_operators_and_managers_open_tickets_for_someone_else(persona, code, as_persona, intranet):
    caller = UserFactory(username="caller")
    body = {"application": intranet.pk, "title": "Phone call", "description": "Cannot log in.", "reporter": "caller"}
    body |= {"gravity": "severe", "criticality": "blocking", "channel": "phone"}
    if persona in (DEV, NET, REP, OTHER):
        body.pop("channel")  # choosing the channel is for operators too: a 400 of its own, below
    response = as_persona(persona).post(reverse("api:ticket-list"), body)
    assert response.status_code == code, response.content
    if code == 201:
        ticket = Ticket.objects.get()
        assert ticket.reporter == caller and ticket.channel == "phone"
    else:
        assert not Ticket.objects.exists()


def test_operators_route_tickets_others_report_to_the_applications_service(as_persona, intranet, net_service):
    body = {"application": intranet.pk, "title": "VPN", "description": "Drops.", "gravity": "minor"}
    body |= {"criticality": "blocking", "service": net_service.pk}
    assert as_persona(OP).post(reverse("api:ticket-list"), body).json()["service"]["id"] == net_service.pk
    refused = as_persona(REP).post(reverse("api:ticket-list"), body)
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["service"]
    assert Ticket.objects.count() == 1


def test_an_evolution_request_waits_for_a_decision(as_persona, intranet):
    body = {"application": intranet.pk, "title": "CSV export", "description": "Please.", "gravity": "minor"}
    response = as_persona(REP).post(reverse("api:ticket-list"), body | {"criticality": "evolution"})
    assert response.json()["status"] == Status.PENDING_DECISION


def test_double_close_is_a_409_and_writes_one_entry(ticket, as_persona):
    client = as_persona(DEV)
    assert client.post(url(ticket, "close"), {"comment": "Fixed."}).status_code == 201
    again = client.post(url(ticket, "close"), {"comment": "Fixed, really."})
    assert again.status_code == 409
    assert again.json() == {"detail": "This ticket is already closed."}
    assert TimelineEntry.objects.filter(ticket=ticket, kind=Kind.STATUS).count() == 1


@pytest.mark.parametrize(
    ("target", "action", "body", "persona"),
    [
        ("ticket", "reopen", {"comment": "Again."}, DEV),
        ("closed_ticket", "intervention", "intervention", DEV),
        ("closed_ticket", "assign", {"assignee": "dev"}, DEV),
        ("ticket", "decide", {"decision": "decline", "comment": "No."}, MGR),
        ("closed_ticket", "reroute", "reroute", DEV),
    ],
)
def test_state_conflicts_are_409(target, action, body, persona, as_persona, request, net_service):
    ticket = request.getfixturevalue(target)
    if body == "intervention":
        body = {"performed_at": timezone.now().isoformat(), "minutes": 5, "body": "Work."}
    elif body == "reroute":
        body = {"service": net_service.pk, "justification": "Network."}
    before = snapshot(ticket)
    response = as_persona(persona).post(url(ticket, PATHS.get(action, action)), body)
    assert response.status_code == 409, response.content
    assert snapshot(ticket) == before


@pytest.mark.parametrize(
    ("action", "body", "fields"),
    [
        ("comments", {"body": "   "}, ["body"]),
        ("comments", {}, ["body"]),
        ("interventions", {"minutes": 0, "body": "x", "performed_at": "not a date"}, ["minutes", "performed_at"]),
        ("interventions", "future", ["performed_at"]),
        ("interventions", {"performed_at": "2026-01-01T10:00:00Z", "minutes": 10, "body": " "}, ["body"]),
        ("reroute", "same service", ["service"]),
        ("reroute", {"service": 424242, "justification": "x"}, ["service"]),
        ("reroute", "no justification", ["justification"]),
        ("close", {"comment": ""}, ["comment"]),
        ("assign", {"assignee": "net"}, ["assignee"]),  # not a member of the ticket's service
        ("assign", {"assignee": "nobody-by-this-name"}, ["assignee"]),
    ],
)
def test_field_errors_are_400_and_change_nothing(action, body, fields, ticket, as_persona, dev_service, net_tech):
    if body == "future":
        body = {"performed_at": (timezone.now() + timezone.timedelta(hours=2)).isoformat(), "minutes": 5, "body": "x"}
    elif body == "same service":
        body = {"service": dev_service.pk, "justification": "Back to us."}
    elif body == "no justification":
        body = {"service": net_tech.services.get().pk, "justification": " "}
    before = snapshot(ticket)
    response = as_persona(DEV).post(url(ticket, action), body)
    assert response.status_code == 400, response.content
    assert sorted(response.json()["errors"]) == fields
    assert snapshot(ticket) == before


def test_a_refused_file_keeps_nothing_of_the_ticket(as_persona, intranet, settings):
    settings.ATTACHMENT_MAX_BYTES = 1000
    body = {"application": intranet.pk, "title": "Screenshot", "description": "See files.", "gravity": "minor"}
    body |= {"criticality": "blocking"}
    small = SimpleUploadedFile("a.txt", b"a" * 10, content_type="text/plain")
    large = SimpleUploadedFile("b.png", b"b" * 2000, content_type="image/png")
    response = as_persona(REP).post(
        reverse("api:ticket-list"), body | {"attachments": [small, large]}, format="multipart"
    )
    assert response.status_code == 413
    assert list(response.json()["errors"]) == ["attachments"] and "b.png" in response.json()["detail"]
    assert not Ticket.objects.exists() and not Attachment.objects.exists()


def test_comments_carry_files_in_multipart(ticket, as_persona):
    log = SimpleUploadedFile("trace.log", b"ERROR 42", content_type="text/plain")
    response = as_persona(REP).post(
        url(ticket, "comments"), {"body": "The log.", "attachments": [log]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    assert response.json()["attachments"][0]["name"] == "trace.log"
    assert Attachment.objects.get().entry_id == response.json()["id"]


def test_a_body_over_the_limit_is_413(ticket, as_persona, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = as_persona(REP).post(url(ticket, "comments"), {"body": "x" * 2000})
    assert response.status_code == 413
    assert response.json() == {"detail": "The request is too large."}
    assert ticket.timeline.count() == 1


def test_malformed_json_and_other_types_are_400_and_415(ticket, as_persona):
    client = as_persona(REP)
    assert client.post(url(ticket, "comments"), "{not json", content_type="application/json").status_code == 400
    assert client.post(url(ticket, "close"), "comment=x", content_type="text/plain").status_code == 415
    assert ticket.timeline.count() == 1


def test_reroute_takes_the_ticket_out_of_the_technicians_sight(ticket, as_persona, net_service):
    client = as_persona(DEV)
    response = client.post(url(ticket, "reroute"), {"service": net_service.pk, "justification": "Network issue."})
    assert response.status_code == 201
    assert response.json()["to_service"] == {"id": net_service.pk, "name": "Network"}
    assert client.get(url(ticket)).status_code == 404
    assert as_persona(NET).get(url(ticket)).status_code == 200


def test_take_then_assign(ticket, as_persona, dev_service, dev_tech):
    UserFactory(username="dev2", role=Role.TECHNICIAN, services=[dev_service])
    client = as_persona(DEV)
    assert client.post(url(ticket, "take")).json()["assignee"]["username"] == "dev"
    assert client.post(url(ticket, "take")).status_code == 400  # already theirs
    assert client.post(url(ticket, "assign"), {"assignee": "dev2"}).status_code == 201
    ticket.refresh_from_db()
    assert ticket.assignee.username == "dev2"


def test_session_authentication_works_and_needs_the_csrf_token(ticket, reporter):
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(reporter)
    assert client.get(url(ticket)).status_code == 200
    refused = client.post(url(ticket, "comments"), {"body": "From the browser."})
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get(reverse("api:docs"), {"script": ""})  # the documentation page's script sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = client.post(url(ticket, "comments"), {"body": "From the browser."}, headers={"X-CSRFToken": token})
    assert response.status_code == 201


def test_the_other_reporters_ticket_is_404_even_for_comments(operator, other_reporter, intranet, as_persona):
    theirs = open_ticket(by=operator, reporter=other_reporter, application=intranet)
    assert as_persona(REP).post(url(theirs, "comments"), {"body": "Me too"}).status_code == 404
    assert theirs.timeline.count() == 1

"""The desk's state changes: what each does, writes and refuses."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from incidents import actions, rules
from incidents.models import Criticality, Gravity, Kind, Priority, Status, Ticket, TimelineEntry

from ..factories import open_ticket


def kinds(ticket):
    return list(TimelineEntry.objects.filter(ticket=ticket).order_by("id").values_list("kind", flat=True))


def test_opening_numbers_tickets_per_year_and_writes_the_created_entry(operator, reporter, intranet):
    first = open_ticket(by=operator, reporter=reporter, application=intranet)
    second = open_ticket(by=operator, reporter=reporter, application=intranet)
    year = timezone.localtime().year
    assert (first.number, second.number) == (f"INC-{year}-000001", f"INC-{year}-000002")
    assert first.status == Status.OPEN and first.priority == Priority.P1
    assert first.created_by == operator and first.reporter == reporter
    assert kinds(first) == [Kind.CREATED]


def test_an_evolution_request_waits_for_a_decision(evolution_request, manager):
    assert evolution_request.status == Status.PENDING_DECISION
    actions.decide_evolution_request(evolution_request, by=manager, accept=True, comment="Planned for Q3.")
    evolution_request.refresh_from_db()
    assert evolution_request.status == Status.OPEN
    entry = TimelineEntry.objects.get(ticket=evolution_request, kind=Kind.STATUS)
    assert (entry.from_status, entry.to_status, entry.body) == (Status.PENDING_DECISION, Status.OPEN, "Planned for Q3.")


def test_a_declined_evolution_request_is_closed(evolution_request, manager):
    actions.decide_evolution_request(evolution_request, by=manager, accept=False, comment="Not now.")
    evolution_request.refresh_from_db()
    assert evolution_request.status == Status.CLOSED and evolution_request.closed_at is not None


def test_reroute_moves_the_ticket_between_queues_with_its_justification(ticket, dev_tech, net_tech, net_service):
    actions.take_ticket(ticket, by=dev_tech)
    actions.reroute_ticket(ticket, by=dev_tech, to=net_service, justification="DB connection fails: network.")
    ticket.refresh_from_db()
    assert ticket.service == net_service and ticket.assignee is None
    assert not Ticket.objects.visible_to(dev_tech).filter(pk=ticket.pk).exists()
    assert Ticket.objects.visible_to(net_tech).filter(pk=ticket.pk).exists()
    entry = TimelineEntry.objects.get(ticket=ticket, kind=Kind.REROUTE)
    assert entry.from_service.name == "Application developers" and entry.to_service == net_service
    assert entry.body == "DB connection fails: network." and entry.author == dev_tech


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda t, u, s, d: actions.reroute_ticket(t, by=u, to=d, justification="x"), "already routed"),
        (lambda t, u, s, d: actions.reroute_ticket(t, by=u, to=s, justification="   "), "Say why"),
        (lambda t, u, s, d: actions.close_ticket(t, by=u, comment=""), "observation comment"),
        (lambda t, u, s, d: actions.add_comment(t, by=u, body=" \n "), "Write a comment"),
        (
            lambda t, u, s, d: actions.log_intervention(t, by=u, performed_at=timezone.now(), minutes=0, body="x"),
            "between 1 minute",
        ),
        (
            lambda t, u, s, d: actions.log_intervention(
                t, by=u, performed_at=timezone.now() + timedelta(hours=2), minutes=5, body="x"
            ),
            "future",
        ),
        (lambda t, u, s, d: actions.reopen_ticket(t, by=u, comment="again"), "Only a closed ticket"),
        (lambda t, u, s, d: actions.decide_evolution_request(t, by=u, accept=True, comment="x"), "not waiting"),
    ],
)
def test_illegal_moves_are_refused_and_change_nothing(call, message, ticket, dev_tech, net_service, dev_service):
    before = Ticket.objects.filter(pk=ticket.pk).values().get()
    entries = TimelineEntry.objects.count()
    with pytest.raises(actions.Refused, match=message):
        call(ticket, dev_tech, net_service, dev_service)
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before
    assert TimelineEntry.objects.count() == entries


def test_closing_a_closed_ticket_is_refused(ticket, dev_tech):
    actions.close_ticket(ticket, by=dev_tech, comment="Fixed.")
    with pytest.raises(actions.Refused, match="already closed"):
        actions.close_ticket(ticket, by=dev_tech, comment="Again.")
    assert kinds(ticket).count(Kind.STATUS) == 1


def test_the_second_of_two_closers_gets_a_message_and_no_duplicate_entry(ticket, dev_tech, dev_service):
    from ..factories import Role, UserFactory

    colleague = UserFactory(role=Role.TECHNICIAN, services=[dev_service])
    mine, theirs = Ticket.objects.get(pk=ticket.pk), Ticket.objects.get(pk=ticket.pk)  # both pages loaded
    actions.close_ticket(mine, by=dev_tech, comment="Fixed.")
    with pytest.raises(actions.Refused, match="changed by someone else"):
        actions.close_ticket(theirs, by=colleague, comment="Fixed too.")
    assert kinds(ticket).count(Kind.STATUS) == 1


@pytest.mark.django_db(transaction=True)
def test_two_technicians_closing_at_the_same_instant_close_it_once(operator, reporter, intranet, dev_tech, dev_service):
    from ..factories import Role, UserFactory

    colleague = UserFactory(role=Role.TECHNICIAN, services=[dev_service])
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    barrier = threading.Barrier(2)
    outcomes = []

    def close(user):
        stale = Ticket.objects.get(pk=ticket.pk)
        barrier.wait()
        try:
            actions.close_ticket(stale, by=user, comment=f"Closed by {user.username}")
            outcomes.append("closed")
        except actions.Refused:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=close, args=(u,)) for u in (dev_tech, colleague)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(outcomes) == ["closed", "refused"]
    assert kinds(ticket).count(Kind.STATUS) == 1


def test_interventions_total_the_time_spent(ticket, dev_tech):
    now = timezone.now()
    actions.log_intervention(ticket, by=dev_tech, performed_at=now, minutes=45, body="Read the logs.")
    actions.log_intervention(ticket, by=dev_tech, performed_at=now, minutes=30, body="Tested the DB link.")
    ticket.refresh_from_db()
    assert ticket.time_spent == 75


def test_first_response_is_the_first_action_of_someone_other_than_the_reporter(ticket, reporter, dev_tech):
    actions.add_comment(ticket, by=reporter, body="Still broken.")
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    actions.add_comment(ticket, by=dev_tech, body="Looking at it.")
    ticket.refresh_from_db()
    first = ticket.first_response_at
    assert first is not None
    actions.add_comment(ticket, by=dev_tech, body="More.")
    ticket.refresh_from_db()
    assert ticket.first_response_at == first


def test_reopening_a_closed_ticket_needs_a_comment_and_puts_it_back_in_the_queue(ticket, dev_tech):
    actions.close_ticket(ticket, by=dev_tech, comment="Fixed.")
    with pytest.raises(actions.Refused):
        actions.reopen_ticket(ticket, by=dev_tech, comment="")
    actions.reopen_ticket(ticket, by=dev_tech, comment="It came back.")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.closed_at is None


def test_assignee_must_belong_to_the_service(ticket, dev_tech, net_tech):
    with pytest.raises(actions.Refused, match="member of the ticket's service"):
        actions.assign_ticket(ticket, by=dev_tech, to=net_tech)


@given(gravity=st.sampled_from(Gravity), criticality=st.sampled_from(Criticality))
def test_priority_matrix_is_total_and_monotonic(gravity, criticality):
    priority = rules.priority_for(gravity, criticality)
    assert priority in Priority
    order = list(Gravity)
    if gravity != Gravity.MINOR:
        assert priority <= rules.priority_for(order[order.index(gravity) + 1], criticality)
    assert (priority == Priority.P1) == (gravity == Gravity.SEVERE and criticality == Criticality.BLOCKING)

"""seed_load fills the desk with consistent data and adds to what is there."""

from io import StringIO

from django.core.management import call_command
from django.db.models import Count, Sum

from accounts.roles import Role
from incidents.models import Membership, Status, Ticket, TicketCounter, TimelineEntry
from incidents.rules import priority_for


def _load(tickets, seed):
    call_command("seed_load", tickets=tickets, users=60, seed=seed, open=20, timeline_max=8, stdout=StringIO())


def test_seed_load_writes_consistent_tickets_and_a_second_run_adds_to_them(db):
    _load(200, seed=1)

    assert Ticket.objects.count() == 200
    assert Ticket.objects.exclude(status=Status.CLOSED).count() == 20
    assert TimelineEntry.objects.exists()
    for ticket in Ticket.objects.annotate(minutes=Sum("timeline__minutes"), entries=Count("timeline")):
        assert ticket.time_spent == (ticket.minutes or 0)
        assert ticket.priority == priority_for(ticket.gravity, ticket.criticality)
        assert ticket.entries <= 8
        assert (ticket.closed_at is not None) == (ticket.status == Status.CLOSED)
    tech = Membership.objects.get(user__username="bench-tech")
    assert tech.user.groups.filter(name=Role.TECHNICIAN).exists()

    _load(200, seed=2)

    numbers = list(Ticket.objects.values_list("number", flat=True))
    assert len(numbers) == len(set(numbers)) == 400
    # Each year's counter sits on its highest number, so the next intake continues after it.
    for counter in TicketCounter.objects.all():
        highest = max(int(n.rsplit("-", 1)[1]) for n in numbers if n.startswith(f"INC-{counter.year}-"))
        assert counter.value == highest
    assert Membership.objects.filter(user__username="bench-tech").count() == 1

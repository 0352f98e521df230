"""Keyset pages show every ticket exactly once, in order, forwards and backwards, even
when many tickets share the sort values (same second, same priority)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from incidents.filters import SORTS
from incidents.models import Ticket
from incidents.pagination import paginate

from ..factories import open_ticket

SAME_SECOND = datetime(2026, 11, 16, 9, 0, tzinfo=ZoneInfo("Europe/Paris"))


@pytest.fixture
def tickets(operator, reporter, intranet):
    made = []
    with time_machine.travel(SAME_SECOND, tick=False):  # ties on created_at: the id decides
        for i in range(12):
            made.append(open_ticket(by=operator, reporter=reporter, application=intranet, title=f"Tied {i}"))
    for i in range(11):
        gravity = ["severe", "annoying", "minor"][i % 3]
        made.append(open_ticket(by=operator, reporter=reporter, application=intranet, gravity=gravity))
    return made


@pytest.mark.parametrize("sort", ["newest", "oldest", "priority", "updated"])
def test_pages_forwards_and_backwards_show_each_ticket_once_in_order(sort, tickets):
    ordering = SORTS[sort][1]
    expected = list(Ticket.objects.order_by(*ordering).values_list("pk", flat=True))

    seen, cursor, pages = [], None, []
    while True:
        page = paginate(Ticket.objects.all(), ordering, cursor, 5)
        pages.append(page)
        seen += [row.pk for row in page.rows]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == expected and len(pages) == 5

    back, cursor = [row.pk for row in pages[-1].rows], pages[-1].prev_cursor
    while cursor:
        page = paginate(Ticket.objects.all(), ordering, cursor, 5)
        back = [row.pk for row in page.rows] + back
        cursor = page.prev_cursor
    assert back == expected

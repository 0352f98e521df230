"""On-call paging in a real browser: a P1 ticket pages the person on call, who
acknowledges from their phone without logging in; the desk sees who is on call and the
acknowledgement on the ticket's timeline."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from oncall.models import Page
from tests.factories import open_ticket
from tests.oncall.conftest import backup, policy, rotation  # noqa: F401  (the on-call tests' fixtures)

from .test_desk_story import follow, screenshot, timeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_a_p1_pages_the_person_on_call_who_acknowledges_from_a_phone(
    login_as,
    browser,
    live_server,
    console,
    policy,  # noqa: F811  (the fixture imported above)
    operator,
    manager,
    reporter,
    intranet,  # noqa: F811
):
    ticket = open_ticket(
        by=operator,
        reporter=reporter,
        application=intranet,
        title="Intranet down for everyone",
        gravity="severe",
        criticality="blocking",
    )
    page = Page.objects.get(escalation__ticket=ticket, level=1)
    paged = page.user

    # The person on call opens the link of the SMS on their phone: no session, no login.
    handset = browser.new_context(base_url=live_server.url, viewport=PHONE, is_mobile=True, locale="en-GB")
    phone = console.watch(handset.new_page())
    phone.goto(urlsplit(page.acknowledge_url()).path)
    expect(phone.get_by_role("heading", name="Acknowledge a page")).to_be_visible()
    expect(phone.get_by_text("Intranet down for everyone")).to_be_visible()
    phone.get_by_role("button", name="Acknowledge").click()
    expect(phone.get_by_role("status")).to_contain_text("Acknowledged. Nobody else will be paged")
    screenshot(phone, "oncall-acknowledge-phone.png")
    handset.close()

    # The manager sees who is on call, and the acknowledgement on the ticket.
    desk = login_as(manager)
    follow(desk, desk.get_by_role("link", name="On call"))
    board = desk.get_by_role("region", name="Application developers")
    expect(board.get_by_text(f"On call now: {paged.get_full_name()}")).to_be_visible()
    expect(board.get_by_role("table", name="Shifts of Primary")).to_be_visible()
    screenshot(desk, "oncall.png")
    desk.goto(ticket.get_absolute_url())
    expect(timeline(desk)).to_contain_text(f"Paged {paged.get_full_name()}")
    expect(timeline(desk)).to_contain_text(f"Acknowledged by {paged.get_full_name()}")
    console.assert_clean()

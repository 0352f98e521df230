"""The self-service portal in a real browser: a customer reports trouble and follows it.

The customer opens a ticket with an attachment, finds it in their own list, reads the
technician's public answer but never the internal note beside it, and gets a 404 for
another customer's ticket, whose number never appears anywhere they look.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from incidents import actions
from incidents.models import Ticket
from tests.factories import open_ticket

from .test_desk_story import follow, pick, screenshot, ticket_number, timeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PUBLIC_ANSWER = "We reproduced it: the printer queue of the 3rd floor is stuck. Restarting it now."
INTERNAL_NOTE = "Spooler on prt-03 crashed again; third time this month, check the driver version."


def test_customer_files_a_ticket_follows_it_and_never_sees_an_internal_note(
    login_as, console, clock, tmp_path, reporter, other_reporter, operator, dev_tech, intranet
):
    someone_elses = open_ticket(
        by=operator,
        reporter=other_reporter,
        application=intranet,
        title="Payroll export fails",
        description="The payroll export stops at 80%.",
        gravity="severe",
        criticality="blocking",
    )

    customer = login_as(reporter)
    follow(customer, customer.get_by_role("link", name="Report a problem"))
    expect(customer.get_by_role("heading", name="Report a problem")).to_be_visible()
    form = customer.get_by_role("form", name="Report a problem")
    pick(customer, "Application", "Intra", "Intranet")
    form.get_by_label("Title").fill("Cannot print from the intranet")
    form.get_by_label("Description").fill("Every print job from the intranet stays in the queue.")
    form.get_by_role("radio", name="Annoying", exact=True).check()
    form.get_by_role("radio", name="Non-blocking", exact=True).check()
    screen = tmp_path / "queue.png"
    screen.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    form.get_by_label("Attachments").set_input_files(screen)
    screenshot(customer, "portal-report.png")
    form.get_by_role("button", name="Send").click()

    expect(customer.get_by_role("heading", name="Cannot print from the intranet")).to_be_visible()
    number = ticket_number(customer)
    expect(customer.get_by_role("link", name="queue.png")).to_be_visible()

    # The technician answers publicly and keeps a note for the staff.
    clock.shift(timedelta(minutes=30))
    ticket = Ticket.objects.get(number=number)
    actions.add_comment(ticket, by=dev_tech, body=PUBLIC_ANSWER)
    actions.add_comment(ticket, by=dev_tech, body=INTERNAL_NOTE, internal=True)

    # Staff see both, the note marked as such.
    staff = login_as(dev_tech)
    staff.goto(f"/tickets/{number}/")
    expect(timeline(staff)).to_contain_text(INTERNAL_NOTE)
    expect(staff.get_by_text("Internal note: staff only").first).to_be_visible()

    # The customer finds the ticket in their own list, with the answer and without the note.
    follow(customer, customer.get_by_role("link", name="Current tickets"))
    expect(customer.get_by_role("link", name=number)).to_be_visible()
    expect(customer.get_by_role("link", name=someone_elses.number)).to_have_count(0)
    expect(customer.get_by_text("Payroll export fails")).to_have_count(0)
    follow(customer, customer.get_by_role("link", name=number))
    expect(timeline(customer)).to_contain_text(PUBLIC_ANSWER)
    expect(timeline(customer)).not_to_contain_text(INTERNAL_NOTE)
    expect(customer.get_by_text("Internal note")).to_have_count(0)
    screenshot(customer, "portal-ticket.png")

    # Searching for the other ticket finds nothing, and its page is a 404 like a missing one.
    customer.goto("/tickets/?q=payroll")
    expect(customer.get_by_role("link", name=someone_elses.number)).to_have_count(0)
    console.expect_404(re.sub(r"\?.*$", "", customer.url) + someone_elses.number)
    response = customer.goto(f"/tickets/{someone_elses.number}/")
    assert response.status == 404
    expect(customer.get_by_role("heading", name="Not found")).to_be_visible()
    console.assert_clean()

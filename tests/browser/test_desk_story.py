"""Seed 004's story in a real browser: a call, a wrong first routing, a re-route, a closing.

Each persona drives their own browser context and logs in through the login form. Pages
are located by role and label, as a person using a screen reader would find them. These
tests also take the README screenshots (docs/screenshots/, 1280x800).
"""

import re
from datetime import timedelta

import pytest
from django.utils import translation
from playwright.sync_api import Locator, Page, expect

from tests.factories import ApplicationFactory, open_ticket

from .conftest import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DB_FAILURE = "Server logs show a database connection failure at each login attempt."
FINDING = (
    "The intranet cannot reach its database: connections time out at the network level. "
    "Tests from the application server fail too, so it looks like the network configuration."
)


def screenshot(page: Page, name: str) -> None:
    """A README screenshot of the 1280x800 viewport, once the page has settled."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_load_state("networkidle")
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=SCREENSHOTS / name, animations="disabled", caret="hide")


def follow(page: Page, link: Locator) -> None:
    """Click a link and wait for the new page's scripts (tom-select, htmx) to be in place."""
    href = link.get_attribute("href")
    link.click()
    page.wait_for_url(f"**{href}")


def ticket_number(page: Page) -> str:
    match = re.search(r"/tickets/(INC-\d{4}-\d+)/$", page.url)
    assert match, f"not on a ticket page: {page.url}"
    return match.group(1)


def pick(page: Page, label: str, typed: str, option: str | re.Pattern) -> None:
    """Choose in a tom-select picker: type into its combobox, click the suggested option."""
    combobox = page.get_by_role("combobox", name=label)
    combobox.click()
    combobox.press_sequentially(typed, delay=30)
    page.get_by_role("listbox", name=label).get_by_role("option", name=option).click()


def file_ticket(
    page: Page, *, reporter, application, service, gravity, criticality, title, description, screenshot_as=None
) -> str:
    """The operator's intake form, as filled while the caller is on the phone."""
    follow(page, page.get_by_role("link", name="New ticket").first)
    expect(page.get_by_role("heading", name="New ticket")).to_be_visible()
    pick(page, "Reporter", reporter.username, re.compile(rf"\({re.escape(reporter.username)}\)"))
    pick(page, "Application", application[:5], application)
    pick(page, "Route to service", service[:5], service)
    page.get_by_role("radio", name=gravity, exact=True).check()
    page.get_by_role("radio", name=criticality, exact=True).check()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill(description)
    if screenshot_as:
        screenshot(page, screenshot_as)
    page.get_by_role("button", name="Create the ticket").click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    number = ticket_number(page)
    expect(page.get_by_role("status").filter(has_text=f"Ticket {number} created.")).to_be_visible()
    return number


def timeline(page: Page):
    return page.get_by_role("list", name="Timeline")


def region(page: Page, name: str):
    return page.get_by_role("region", name=name, exact=True)


def earlier_calls(clock, operator, other_reporter, dev_service, net_service):
    """The tickets of the morning's first calls, so the lists look like a working day."""
    erp = ApplicationFactory(name="ERP", default_service=dev_service)
    vpn = ApplicationFactory(name="VPN", default_service=net_service)
    open_ticket(
        by=operator,
        reporter=other_reporter,
        application=erp,
        title="Invoice export is slow",
        description="Exporting the monthly invoices takes more than ten minutes.",
        gravity="annoying",
        criticality="non_blocking",
    )
    clock.shift(timedelta(minutes=17))
    open_ticket(
        by=operator,
        reporter=other_reporter,
        application=vpn,
        title="VPN drops every hour",
        description="The VPN connection drops every hour on the hour.",
        gravity="annoying",
        criticality="blocking",
    )
    clock.shift(timedelta(minutes=23))
    typo = open_ticket(
        by=operator,
        reporter=other_reporter,
        application=erp,
        title="Typo on the order form",
        description="“Adress” instead of “Address”.",
        gravity="minor",
        criticality="non_blocking",
    )
    clock.shift(timedelta(minutes=14))
    return typo


def test_login_error_is_rerouted_to_network_closed_and_followed_by_its_reporter(
    login_as,
    console,
    clock,
    operator,
    dev_tech,
    net_tech,
    reporter,
    other_reporter,
    intranet,
    dev_service,
    net_service,
):
    someone_elses = earlier_calls(clock, operator, other_reporter, dev_service, net_service)

    # The operator takes the call and files the ticket in the developers' queue.
    desk = login_as(operator)
    number = file_ticket(
        desk,
        reporter=reporter,
        application="Intranet",
        service="Application developers",
        gravity="Severe",
        criticality="Blocking",
        title="Error message at login",
        description="Since this morning the intranet shows “Authentication failed: internal error” "
        "right after the password is typed.",
        screenshot_as="new-ticket.png",
    )
    facts = desk.get_by_role("definition")
    expect(facts.filter(has_text="Application developers")).to_have_count(1)
    expect(desk.get_by_text("P1 · Critical")).to_be_visible()
    follow(desk, desk.get_by_role("link", name="Current tickets"))
    expect(desk.get_by_role("link", name=number)).to_be_visible()
    screenshot(desk, "ticket-list.png")

    # A developer finds it in their queue, reads the logs, logs the work and re-routes it.
    clock.shift(timedelta(minutes=25))
    dev = login_as(dev_tech)
    expect(dev.get_by_role("heading", name="Current tickets")).to_be_visible()
    expect(dev.get_by_role("link", name="VPN drops every hour")).to_have_count(0)  # the Network queue's
    follow(dev, dev.get_by_role("link", name=number))
    commenting = dev.get_by_role("form", name="Add a comment")
    commenting.get_by_label("Comment").fill(DB_FAILURE)
    commenting.get_by_role("button", name="Add comment").click()
    expect(timeline(dev)).to_contain_text(DB_FAILURE)

    clock.shift(timedelta(minutes=50))
    dev.reload()  # the intervention form proposes the current time
    intervention = region(dev, "Log an intervention")
    intervention.get_by_label("Time spent (minutes)").fill("45")
    intervention.get_by_label("What was done").fill("Read the server logs; ran connection tests to the database.")
    intervention.get_by_role("button", name="Log intervention").click()
    expect(timeline(dev)).to_contain_text("Intervention of 45 min")
    expect(dev.get_by_role("definition").filter(has_text="45 min")).to_have_count(1)

    clock.shift(timedelta(minutes=10))
    reroute = region(dev, "Re-route")
    reroute.get_by_label("Re-route to").select_option(label="Network")
    reroute.get_by_label("Justification").fill(FINDING)
    reroute.get_by_role("button", name="Re-route").click()

    # Out of the developers' queue: back to the list, and the ticket page is now a 404.
    expect(dev).to_have_url(re.compile(r"/tickets/$"))
    expect(dev.get_by_role("status").filter(has_text=f"Ticket {number} re-routed to Network.")).to_be_visible()
    expect(dev.get_by_role("link", name=number)).to_have_count(0)
    console.expect_404(f"{dev.url}{number}/")
    response = dev.goto(f"/tickets/{number}/")
    assert response.status == 404
    expect(dev.get_by_role("heading", name="Not found")).to_be_visible()

    # A network technician finds it in their queue, with the developer's findings, and closes it.
    clock.shift(timedelta(minutes=20))
    net = login_as(net_tech)
    follow(net, net.get_by_role("link", name=number))
    expect(timeline(net)).to_contain_text("Re-routed from Application developers to Network")
    expect(timeline(net)).to_contain_text(FINDING)
    screenshot(net, "ticket-page.png")
    clock.shift(timedelta(minutes=45))
    closing = region(net, "Close the ticket")
    closing.get_by_label("Observation").fill("Firewall rule between the intranet and its database restored.")
    closing.get_by_role("button", name="Close", exact=True).click()
    expect(timeline(net)).to_contain_text("Status: Open → Closed")
    expect(region(net, "Reopen the ticket")).to_be_visible()
    expect(region(net, "Close the ticket")).to_have_count(0)

    follow(net, net.get_by_role("link", name="Current tickets"))
    expect(net.get_by_role("link", name="VPN drops every hour")).to_be_visible()
    expect(net.get_by_role("link", name=number)).to_have_count(0)
    follow(net, net.get_by_role("link", name="Closed tickets"))
    expect(net.get_by_role("heading", name="Closed tickets")).to_be_visible()
    expect(net.get_by_role("link", name=number)).to_be_visible()

    # The caller follows their ticket and its whole history, and nobody else's.
    clock.shift(timedelta(hours=2))
    caller = login_as(reporter)
    expect(caller.get_by_role("link", name=number)).to_have_count(0)  # closed: not current
    expect(caller.get_by_role("link", name=someone_elses.number)).to_have_count(0)
    follow(caller, caller.get_by_role("link", name="Closed tickets"))
    follow(caller, caller.get_by_role("link", name=number))
    history = timeline(caller)
    expect(history).to_contain_text("Ticket opened and routed to Application developers.")
    expect(history).to_contain_text(DB_FAILURE)
    expect(history).to_contain_text("Intervention of 45 min")
    expect(history).to_contain_text("Read the server logs; ran connection tests to the database.")
    expect(history).to_contain_text("Re-routed from Application developers to Network")
    expect(history).to_contain_text(FINDING)
    expect(history).to_contain_text("Status: Open → Closed")
    expect(history).to_contain_text("Firewall rule between the intranet and its database restored.")
    for technician_only in ("Log an intervention", "Re-route", "Close the ticket", "Reopen the ticket"):
        expect(region(caller, technician_only)).to_have_count(0)

    console.expect_404(f"{caller.url.split('/tickets/')[0]}/tickets/{someone_elses.number}/")
    response = caller.goto(f"/tickets/{someone_elses.number}/")
    assert response.status == 404
    expect(caller.get_by_role("heading", name="Not found")).to_be_visible()
    expect(caller.get_by_text("Typo on the order form")).to_have_count(0)

    console.assert_clean()


def test_evolution_request_waits_in_its_own_list_until_a_manager_decides(
    login_as, console, clock, operator, dev_tech, manager, reporter, other_reporter, intranet, dev_service
):
    payroll = ApplicationFactory(name="Payroll", default_service=dev_service)
    declined = open_ticket(
        by=operator,
        reporter=other_reporter,
        application=payroll,
        criticality="evolution",
        gravity="annoying",
        title="Add a CSV export of payslips",
        description="The accountants would like to export payslips as CSV.",
    )
    clock.shift(timedelta(minutes=35))

    desk = login_as(operator)
    number = file_ticket(
        desk,
        reporter=reporter,
        application="Intranet",
        service="Application developers",
        gravity="Minor",
        criticality="Evolution",
        title="Show the last login date on the home page",
        description="The caller would like to see when they last logged in.",
    )
    expect(timeline(desk)).to_contain_text("It is an evolution request: it waits for a decision.")
    expect(desk.get_by_text("P5 · Planned")).to_be_visible()
    follow(desk, desk.get_by_role("link", name="Evolution requests"))
    expect(desk.get_by_role("heading", name="Evolution requests")).to_be_visible()
    expect(desk.get_by_role("link", name=number)).to_be_visible()
    expect(desk.get_by_role("link", name=declined.number)).to_be_visible()
    screenshot(desk, "evolution-requests.png")

    # Not open work: the developers see it waiting, with nothing to log or close.
    dev = login_as(dev_tech)
    expect(dev.get_by_role("heading", name="Current tickets")).to_be_visible()
    expect(dev.get_by_role("table")).not_to_contain_text(number)
    dev.goto(f"/tickets/{number}/")
    expect(dev.get_by_text("Pending decision", exact=True)).to_be_visible()
    for work in ("Log an intervention", "Close the ticket", "Decide this evolution request"):
        expect(region(dev, work)).to_have_count(0)

    # In the review meeting, the manager accepts one and declines the other.
    clock.shift(timedelta(hours=5))
    boss = login_as(manager)
    follow(boss, boss.get_by_role("link", name="Evolution requests"))
    follow(boss, boss.get_by_role("link", name=number))
    decision = region(boss, "Decide this evolution request")
    decision.get_by_role("radio", name="Accept").check()
    decision.get_by_label("Observation").fill("Accepted in the review meeting of 16 November.")
    decision.get_by_role("button", name="Record the decision").click()
    expect(timeline(boss)).to_contain_text("Status: Pending decision → Open")
    expect(region(boss, "Decide this evolution request")).to_have_count(0)

    follow(boss, boss.get_by_role("link", name="Evolution requests"))
    follow(boss, boss.get_by_role("link", name=declined.number))
    decision = region(boss, "Decide this evolution request")
    decision.get_by_role("radio", name="Decline").check()
    decision.get_by_label("Observation").fill("Payslips stay PDF only: legal requirement.")
    decision.get_by_role("button", name="Record the decision").click()
    expect(timeline(boss)).to_contain_text("Status: Pending decision → Closed")

    follow(boss, boss.get_by_role("link", name="Evolution requests"))
    expect(boss.get_by_text("No ticket matches.")).to_be_visible()
    follow(boss, boss.get_by_role("link", name="Current tickets"))
    expect(boss.get_by_role("row").filter(has_text=number)).to_contain_text("Open")
    follow(boss, boss.get_by_role("link", name="Closed tickets"))
    expect(boss.get_by_role("link", name=declined.number)).to_be_visible()
    expect(boss.get_by_role("link", name=number)).to_have_count(0)

    # The accepted request is now work in the developers' queue.
    follow(dev, dev.get_by_role("link", name="Current tickets"))
    expect(dev.get_by_role("link", name=number)).to_be_visible()

    console.assert_clean()


def test_filters_update_the_list_in_place_and_the_interface_speaks_french(
    login_as, console, clock, operator, reporter, other_reporter, intranet, dev_service, net_service
):
    earlier_calls(clock, operator, other_reporter, dev_service, net_service)
    login_error = open_ticket(by=operator, reporter=reporter, application=intranet)

    page = login_as(operator)
    table = page.get_by_role("table")
    expect(table).to_contain_text("VPN drops every hour")
    page.evaluate("window.stillTheSamePage = true")

    page.get_by_label("Gravity").select_option(label="Severe")
    expect(page).to_have_url(re.compile(r"[?&]gravity=severe"))
    expect(table).to_contain_text(login_error.number)
    expect(table).not_to_contain_text("VPN drops every hour")
    expect(page.get_by_text("1 ticket", exact=True)).to_be_visible()

    page.get_by_label("Gravity").select_option(label="Annoying")
    page.get_by_label("Search").press_sequentially("vpn", delay=30)
    expect(page).to_have_url(re.compile(r"[?&]q=vpn"))
    expect(table).to_contain_text("VPN drops every hour")
    expect(table).not_to_contain_text("Invoice export is slow")
    assert page.evaluate("window.stillTheSamePage") is True, "the filters reloaded the whole page"

    # The URL is the list's state: reloading (or a bookmark) shows the same list.
    page.reload()
    assert page.evaluate("window.stillTheSamePage") is None
    expect(page.get_by_label("Gravity")).to_have_value("annoying")
    expect(page.get_by_label("Search")).to_have_value("vpn")
    expect(table).to_contain_text("VPN drops every hour")
    expect(table).not_to_contain_text("Invoice export is slow")

    # The language switch in the navigation bar.
    page.get_by_label("Language").select_option("fr")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page).to_have_url(re.compile(r"[?&]q=vpn"))
    with translation.override("fr"):
        french = {english: translation.gettext(english) for english in ("Current tickets", "Log out")}
    if french["Current tickets"] != "Current tickets":  # once locale/fr is compiled
        expect(page.get_by_role("heading", name=french["Current tickets"])).to_be_visible()
        expect(page.get_by_role("button", name=french["Log out"])).to_be_visible()

    console.assert_clean()

"""The escalation test: a top-priority ticket pages level 1 at once; with no
acknowledgement, level 2 is paged after the delay, then the managers; acknowledging stops
it. The clock is time-machine's, and the beat's function is called directly."""

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.html import escape

from incidents import actions as desk
from incidents.models import Kind, TimelineEntry
from notifications import delivery
from notifications.models import Channel, Event, Notification, State
from oncall import actions
from oncall.models import Escalation, EscalationState, EscalationStep, Page, Rotation, Target

from ..factories import open_ticket
from .conftest import pages_of


def page_rows(ticket) -> set[tuple[str, str]]:
    return set(
        Notification.objects.filter(ticket=ticket, event=Event.PAGE).values_list("recipient__username", "channel")
    )


def test_top_priority_pages_level_one_then_two_after_the_delay_then_the_managers(
    clock, policy, operator, reporter, intranet, dev_tech
):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)  # severe x blocking: P1

    # Level 1 at once, by SMS and e-mail, in the transaction that opened the ticket.
    assert pages_of(ticket) == [("dev", 1)]
    assert page_rows(ticket) == {("dev", Channel.EMAIL), ("dev", Channel.SMS)}
    entry = TimelineEntry.objects.get(ticket=ticket, kind=Kind.PAGE)
    assert entry.assignee == dev_tech and entry.changes == {"level": 1} and entry.author == operator

    # Nothing more until five minutes have passed without an acknowledgement.
    clock.shift(timedelta(minutes=4, seconds=59))
    assert actions.escalate_due() == 0
    assert pages_of(ticket) == [("dev", 1)]

    clock.shift(timedelta(seconds=1))
    assert actions.escalate_due() == 1
    assert pages_of(ticket) == [("dev", 1), ("backup", 2)]
    assert ("backup", Channel.SMS) in page_rows(ticket)
    assert actions.escalate_due() == 0  # the same beat again: nothing twice

    # Ten more minutes: the managers, the last level; then nothing more, ever.
    clock.shift(timedelta(minutes=9))
    assert actions.escalate_due() == 0
    clock.shift(timedelta(minutes=1))
    assert actions.escalate_due() == 1
    assert pages_of(ticket) == [("dev", 1), ("backup", 2), ("manager", 3)]
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.state, escalation.level, escalation.next_at) == (EscalationState.ACTIVE, 3, None)
    clock.shift(timedelta(hours=2))
    assert actions.escalate_due() == 0
    assert len(pages_of(ticket)) == 3


def test_acknowledging_stops_the_escalation_and_is_written_on_the_timeline(
    clock, policy, client, operator, reporter, intranet, dev_tech
):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    clock.shift(timedelta(minutes=2))
    entry = actions.acknowledge_page(Page.objects.get(user=dev_tech), by=dev_tech)
    assert (entry.kind, entry.author, entry.created_at) == (Kind.ACKNOWLEDGED, dev_tech, timezone.now())

    clock.shift(timedelta(minutes=30))
    assert actions.escalate_due() == 0
    assert pages_of(ticket) == [("dev", 1)]
    escalation = Escalation.objects.get(ticket=ticket)
    assert (escalation.state, escalation.acknowledged_by, escalation.next_at) == (
        EscalationState.ACKNOWLEDGED,
        dev_tech,
        None,
    )

    client.force_login(operator)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert f"Paged {escape(dev_tech)} (level 1)." in page
    assert f"Acknowledged by {escape(dev_tech)}: paging stopped." in page


def test_a_later_level_may_acknowledge_and_a_second_acknowledgement_is_refused(
    clock, policy, operator, reporter, intranet, dev_tech, backup
):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    clock.shift(timedelta(minutes=5))
    actions.escalate_due()
    clock.shift(timedelta(minutes=1))
    actions.acknowledge_page(Page.objects.get(user=backup), by=backup)
    with pytest.raises(desk.Conflict, match=re.escape(f"Already acknowledged by {backup} at")):
        actions.acknowledge_page(Page.objects.get(user=dev_tech), by=dev_tech)
    with pytest.raises(desk.Forbidden):
        actions.acknowledge_page(Page.objects.get(user=backup), by=dev_tech)
    clock.shift(timedelta(hours=1))
    assert actions.escalate_due() == 0
    assert pages_of(ticket) == [("dev", 1), ("backup", 2)]


@pytest.mark.parametrize(
    ("gravity", "criticality"),
    [("severe", "non_blocking"), ("annoying", "blocking"), ("minor", "non_blocking"), ("severe", "evolution")],
)
def test_lower_priorities_page_nobody(clock, policy, operator, reporter, intranet, gravity, criticality):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet, gravity=gravity, criticality=criticality)
    clock.shift(timedelta(hours=1))
    actions.escalate_due()
    assert not Escalation.objects.filter(ticket=ticket).exists()
    assert page_rows(ticket) == set()


def test_a_ticket_reclassified_up_to_top_priority_pages(clock, policy, operator, reporter, intranet):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet, gravity="annoying")
    assert pages_of(ticket) == []
    desk.reclassify_ticket(ticket, by=operator, gravity="severe", criticality="blocking", comment="Everyone is down.")
    assert pages_of(ticket) == [("dev", 1)]


def test_a_ticket_no_longer_top_priority_or_closed_stops_paging(clock, policy, operator, reporter, intranet, dev_tech):
    lowered = open_ticket(by=operator, reporter=reporter, application=intranet)
    closed = open_ticket(by=operator, reporter=reporter, application=intranet)
    desk.reclassify_ticket(lowered, by=operator, gravity="severe", criticality="non_blocking", comment="A workaround.")
    desk.close_ticket(closed, by=dev_tech, comment="Fixed at once.")
    clock.shift(timedelta(minutes=6))
    assert actions.escalate_due() == 0
    assert pages_of(lowered) == pages_of(closed) == [("dev", 1)]
    assert set(Escalation.objects.values_list("state", flat=True)) == {EscalationState.STOPPED}
    with pytest.raises(desk.Conflict, match="stopped"):
        actions.acknowledge_page(Page.objects.filter(escalation__ticket=closed).get(), by=dev_tech)

    # Raised to top priority again: a new escalation starts.
    desk.reclassify_ticket(lowered, by=operator, gravity="severe", criticality="blocking", comment="Worse again.")
    assert pages_of(lowered) == [("dev", 1), ("dev", 1)]


def test_a_ticket_from_a_monitoring_alert_pages(clock, policy, alertmanager, client):
    from ..alerts.conftest import post_alerts, process_all
    from ..alerts.samples import am_alert, am_payload

    assert post_alerts(client, alertmanager, am_payload(am_alert("db-down"))).status_code == 202
    process_all()
    escalation = Escalation.objects.select_related("ticket").get()
    assert escalation.ticket.channel == "alert" and escalation.started_by == alertmanager.bot
    assert pages_of(escalation.ticket) == [("dev", 1)]


def test_overrides_decide_who_is_paged(clock, policy, rotation, operator, reporter, intranet, backup):
    rotation.overrides.create(user=backup, starts_at=timezone.now() - timedelta(hours=1), ends_at=timezone.now())
    rotation.overrides.create(user=backup, starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1))
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    assert pages_of(ticket)[0] == ("backup", 1)


def test_a_level_with_nobody_on_call_passes_to_the_next_at_once(
    clock, dev_service, policy, operator, reporter, intranet
):
    empty = Rotation.objects.create(service=dev_service, name="Nights", start_date=date(2026, 1, 5), shift_days=1)
    EscalationStep.objects.filter(policy=policy, position=1).update(rotation=empty)
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    assert pages_of(ticket) == [("backup", 2)]
    escalation = Escalation.objects.get(ticket=ticket)
    assert escalation.next_at == timezone.now() + timedelta(minutes=10)  # level 3's delay, from now


def test_a_first_level_with_a_delay_waits_for_the_beat(clock, policy, operator, reporter, intranet):
    EscalationStep.objects.filter(policy=policy, position=1).update(delay_minutes=2)
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    assert pages_of(ticket) == []
    clock.shift(timedelta(minutes=2))
    assert actions.escalate_due() == 1
    assert pages_of(ticket) == [("dev", 1)]


def test_a_person_paged_who_could_not_see_the_ticket_may_now(clock, policy, net_tech, operator, reporter, intranet):
    from incidents.models import Ticket

    EscalationStep.objects.filter(policy=policy, position=2).update(target=Target.USER, user=net_tech)
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    assert not Ticket.objects.visible_to(net_tech).filter(pk=ticket.pk).exists()
    clock.shift(timedelta(minutes=5))
    actions.escalate_due()
    assert pages_of(ticket)[-1] == ("net", 2)
    assert Ticket.objects.visible_to(net_tech).filter(pk=ticket.pk).exists()


def test_a_stale_beat_step_does_nothing(clock, policy, operator, reporter, intranet):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    escalation = Escalation.objects.get(ticket=ticket)
    clock.shift(timedelta(minutes=5))
    assert actions.escalate(escalation.pk, version=escalation.version) is True
    assert actions.escalate(escalation.pk, version=escalation.version) is False  # the same token again
    assert pages_of(ticket) == [("dev", 1), ("backup", 2)]


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_page_the_next_level_once(policy, operator, reporter, intranet):
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    later = timezone.now() + timedelta(minutes=5)
    start = threading.Barrier(2)

    def beat(_):
        try:
            start.wait(timeout=10)
            return actions.escalate_due(now=later)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = sorted(pool.map(beat, range(2)))
    assert results == [0, 1]
    assert [level for _user, level in pages_of(ticket)] == [1, 2]


def test_pages_ignore_quiet_hours(clock, policy, operator, reporter, intranet, dev_tech, settings, tmp_path):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "notifications.sms.FileBackend", tmp_path
    dev_tech.quiet_hours_start, dev_tech.quiet_hours_end = time(8), time(20)  # it is 10:00
    dev_tech.save(update_fields=["quiet_hours_start", "quiet_hours_end"])
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    sms = Notification.objects.get(ticket=ticket, event=Event.PAGE, channel=Channel.SMS)
    assert delivery.deliver(sms.pk) == "sent"
    sms.refresh_from_db()
    assert sms.state == State.SENT
    assert (tmp_path / "sms.log").read_text().count(ticket.number) == 1

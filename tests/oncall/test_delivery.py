"""Pages go out through the outbox's real delivery: an e-mail (subject, text and HTML)
and an SMS of at most 160 characters, each carrying the acknowledge link, which works."""

import json
import re
from urllib.parse import urlsplit

from django.core import mail
from django.test import Client

from notifications import delivery
from notifications.models import Event, Notification, State
from oncall.models import Escalation, EscalationState

from ..factories import open_ticket


def test_page_email_and_sms_carry_a_working_acknowledge_link(
    clock, policy, operator, reporter, intranet, dev_tech, settings, tmp_path
):
    settings.SMS_BACKEND, settings.SMS_FILE_PATH = "notifications.sms.FileBackend", tmp_path
    settings.SITE_URL = "https://firebreak.example.org"
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    rows = Notification.objects.filter(ticket=ticket, event=Event.PAGE, recipient=dev_tech)
    assert [delivery.deliver(row.pk) for row in rows] == ["sent", "sent"]
    assert set(rows.values_list("state", flat=True)) == {State.SENT}

    (email,) = [m for m in mail.outbox if m.to == [dev_tech.email] and "On-call page" in m.subject]
    assert email.subject == f"[{ticket.number}] On-call page, level 1: {ticket.title}"
    text, (html, _type) = email.body, email.alternatives[0]
    link = re.search(r"https://firebreak\.example\.org/oncall/ack/[^\s\"<]+/", text).group(0)
    assert f'href="{link}"' in html
    assert f"https://firebreak.example.org/tickets/{ticket.number}/" in text

    sms = json.loads((tmp_path / "sms.log").read_text().splitlines()[-1])
    assert sms["to"] == str(dev_tech.phone) and len(sms["text"]) <= 160
    assert sms["text"].startswith(f"{ticket.number} On-call page (level 1): ")
    sms_link = sms["text"].rsplit(" ", 1)[1]
    assert sms_link.startswith("https://firebreak.example.org/oncall/ack/")

    # From the phone, without logging in: the SMS link asks, then acknowledges.
    phone = Client()
    path = urlsplit(sms_link).path
    assert phone.get(path).status_code == 200
    assert phone.post(path).status_code == 200
    assert Escalation.objects.get(ticket=ticket).state == EscalationState.ACKNOWLEDGED
    assert Client().post(urlsplit(link).path).status_code == 409  # the e-mail's link: already done


def test_the_page_email_speaks_the_recipients_language(clock, policy, operator, reporter, intranet, dev_tech):
    dev_tech.language = "fr"
    dev_tech.save(update_fields=["language"])
    ticket = open_ticket(by=operator, reporter=reporter, application=intranet)
    for row in Notification.objects.filter(ticket=ticket, event=Event.PAGE, channel="email"):
        assert delivery.deliver(row.pk) == "sent"
    (email,) = [m for m in mail.outbox if m.to == [dev_tech.email] and "/oncall/ack/" in m.body]
    # Labels already translated in the catalogue come out in French.
    assert "Ouvrir le ticket" in email.body

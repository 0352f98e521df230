"""Administrators see recent notifications and their fate, and send failed ones again."""

from django.urls import reverse

from accounts.roles import Role
from notifications.models import Notification, State

from ..factories import UserFactory

CHANGELIST = "admin:notifications_notification_changelist"


def test_administrators_see_recent_notifications_and_send_failed_ones_again(client, dev_tech, manager, ticket):
    failed, sent, pending = Notification.objects.filter(ticket=ticket).order_by("pk")
    Notification.objects.filter(pk=failed.pk).update(
        state=State.FAILED, attempts=8, last_error="SMTPServerDisconnected('Connection unexpectedly closed')"
    )
    Notification.objects.filter(pk=sent.pk).update(state=State.SENT)
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))

    page = client.get(reverse(CHANGELIST)).content.decode()
    assert ticket.number in page
    assert all(label in page for label in ("Failed", "Sent", "Pending"))
    assert "SMTPServerDisconnected" in page
    failed_only = client.get(reverse(CHANGELIST), {"state__exact": "failed"}).context["cl"].result_list
    assert [n.pk for n in failed_only] == [failed.pk]

    response = client.post(
        reverse(CHANGELIST), {"action": "retry_selected", "_selected_action": [failed.pk, sent.pk]}, follow=True
    )
    assert "1 notification queued again." in response.content.decode()
    failed.refresh_from_db()
    assert (failed.state, failed.attempts) == (State.PENDING, 0)
    assert Notification.objects.get(pk=sent.pk).state == State.SENT  # only failed rows go again


def test_notifications_are_read_only_and_hidden_from_other_roles(client, ticket):
    row = Notification.objects.filter(ticket=ticket).first()
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    assert client.get(reverse("admin:notifications_notification_change", args=[row.pk])).status_code == 200
    assert client.post(reverse("admin:notifications_notification_delete", args=[row.pk])).status_code == 403
    for role in (Role.OPERATOR, Role.TECHNICIAN, Role.MANAGER, Role.USER):
        client.force_login(UserFactory(role=role))
        assert client.get(reverse(CHANGELIST)).status_code == 302

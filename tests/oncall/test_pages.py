"""The on-call page: who is on call now and the coming shifts, for staff only, in a number
of queries that does not grow with services, rotations, members or overrides."""

from datetime import date, time, timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from incidents.models import Service
from oncall.checks import escalation_is_scheduled
from oncall.models import EscalationPolicy, EscalationStep, Override, Rotation, RotationMember, Target

from ..factories import Role, ServiceFactory, UserFactory

URL = reverse("oncall:schedule")


def test_staff_see_every_service_on_call_now(clock, client, policy, rotation, dev_tech, net_tech, operator, manager):
    for person in (dev_tech, net_tech, operator, manager):  # a technician sees other services' too
        client.force_login(person)
        response = client.get(URL)
        assert response.status_code == 200
        page = response.content.decode()
        assert "Application developers" in page
        assert f"On call now: <strong>{escape(dev_tech)}</strong>" in page


def test_nobody_else_sees_the_on_call_page(clock, client, policy, reporter, other_reporter):
    assert client.get(URL).status_code == 302  # to the login page
    for person in (reporter, other_reporter):
        client.force_login(person)
        assert client.get(URL).status_code == 403
    assert 'href="/oncall/"' not in client.get(reverse("incidents:current")).content.decode()


def test_the_coming_shifts_show_hand_offs_and_overrides(clock, client, rotation, operator, dev_tech, backup):
    Override.objects.create(
        rotation=rotation,
        user=dev_tech,
        starts_at=timezone.now() + timedelta(days=8),
        ends_at=timezone.now() + timedelta(days=10),
        reason="Swap for a dentist appointment",
    )
    client.force_login(operator)
    page = client.get(URL).content.decode()
    assert "weekly, hand-off on Monday at 09:00" in page
    assert "Mon 9 Mar 09:00" in page  # the backup takes over next Monday
    assert "Swap for a dentist appointment" in page


def fill(services: range, *, people):
    """`services` services, each with two rotations of three members, an override each,
    and a three-level policy."""
    now = timezone.now()
    for i in services:
        service = ServiceFactory(name=f"Service {i:03d}")
        rotations = []
        for name in ("Primary", "Secondary"):
            rotation = Rotation.objects.create(
                service=service, name=name, start_date=date(2026, 1, 5), handoff_time=time(9), shift_days=1
            )
            RotationMember.objects.bulk_create(
                RotationMember(rotation=rotation, user=person, position=p) for p, person in enumerate(people)
            )
            Override.objects.create(
                rotation=rotation, user=people[0], starts_at=now + timedelta(days=2), ends_at=now + timedelta(days=3)
            )
            rotations.append(rotation)
        policy = EscalationPolicy.objects.create(service=service)
        EscalationStep.objects.create(policy=policy, position=1, target=Target.ON_CALL, rotation=rotations[0])
        EscalationStep.objects.create(policy=policy, position=2, delay_minutes=5, target=Target.USER, user=people[1])
        EscalationStep.objects.create(policy=policy, position=3, delay_minutes=10, target=Target.MANAGERS)


@pytest.mark.parametrize("persona", ["dev_tech", "operator"])
def test_on_call_page_queries_do_not_grow_with_services(db, clock, request, client, persona):
    client.force_login(request.getfixturevalue(persona))
    people = [UserFactory(role=Role.TECHNICIAN) for _ in range(3)]

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL).status_code == 200
        return len(queries)

    fill(range(2), people=people)
    small = count()
    fill(range(2, 14), people=people)
    large = count()
    # session, user, the user's permissions (own and groups'); the page's 7: rotations
    # with their services, their members with users, their overrides with users, policies
    # with services, their levels with rotations (and services) and people, the services,
    # the user's services (the "your service" badge); then the navigation bar's counts
    # (the visibility scope and two counts: 2 or 3). None repeats per service, rotation,
    # member or override.
    assert large == small
    assert large <= 15


def test_demo_data_gives_every_service_a_rotation_and_a_policy(db):
    call_command("demo_data", verbosity=0)
    counts = [m.objects.count() for m in (Rotation, RotationMember, Override, EscalationPolicy, EscalationStep)]
    call_command("demo_data", verbosity=0)
    assert [m.objects.count() for m in (Rotation, RotationMember, Override, EscalationPolicy, EscalationStep)] == counts
    for service in Service.objects.all():
        assert service.rotations.filter(members__isnull=False).exists()
        assert EscalationStep.objects.filter(policy__service=service).count() == 3
    # The demo's top-priority ticket paged the developers' person on call.
    assert Service.objects.get(name="Application developers").tickets.filter(escalations__pages__isnull=False)


def test_a_desk_without_the_escalation_beat_fails_its_checks(settings):
    assert escalation_is_scheduled() == []
    settings.CELERY_BEAT_SCHEDULE = {
        k: v for k, v in settings.CELERY_BEAT_SCHEDULE.items() if v["task"] != "oncall.escalate"
    }
    assert [e.id for e in escalation_is_scheduled()] == ["oncall.E001"]


def test_administrators_edit_rotations_overrides_and_policies_in_the_admin(client, policy, rotation):
    client.force_login(UserFactory(role=Role.ADMINISTRATOR))
    for name in ("rotation", "override", "escalationpolicy"):
        assert client.get(reverse(f"admin:oncall_{name}_changelist")).status_code == 200
        assert client.get(reverse(f"admin:oncall_{name}_add")).status_code == 200
    assert client.get(reverse("admin:oncall_rotation_change", args=[rotation.pk])).status_code == 200
    assert client.get(reverse("admin:oncall_escalationpolicy_change", args=[policy.pk])).status_code == 200
    assert client.get(reverse("admin:oncall_escalation_changelist")).status_code == 200
    assert client.get(reverse("admin:oncall_escalation_add")).status_code == 403  # read-only

"""A developers' service with a weekly rotation and a three-level escalation policy, and a
clock the tests move (time-machine): nobody waits five real minutes."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from oncall.models import EscalationPolicy, EscalationStep, Page, Rotation, RotationMember, Target

from ..alerts.conftest import alertmanager, make_integration  # noqa: F401  (fixtures of the alert test)
from ..factories import Role, UserFactory

PARIS = ZoneInfo("Europe/Paris")
# A Monday of week 8 of the rotation (which starts on Monday 5 January 2026): the
# developer's turn, an hour after the 09:00 hand-off.
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=PARIS)


@pytest.fixture
def clock(time_machine):
    """The test's clock, stopped at MONDAY; `clock.shift(timedelta(...))` moves it."""
    time_machine.move_to(MONDAY, tick=False)
    return time_machine


@pytest.fixture
def backup(dev_service):
    return UserFactory(username="backup", role=Role.TECHNICIAN, services=[dev_service], phone="+33639980012")


@pytest.fixture
def rotation(dev_service, dev_tech, backup):
    dev_tech.phone = "+33639980011"
    dev_tech.save(update_fields=["phone"])
    rotation = Rotation.objects.create(
        service=dev_service, name="Primary", start_date=date(2026, 1, 5), handoff_time=time(9), shift_days=7
    )
    RotationMember.objects.create(rotation=rotation, user=dev_tech, position=0)
    RotationMember.objects.create(rotation=rotation, user=backup, position=1)
    return rotation


@pytest.fixture
def policy(dev_service, rotation, backup, manager):
    """Level 1: the person on call, at once; level 2: the backup, 5 minutes later; level
    3: the managers, 10 minutes after that."""
    manager.phone = "+33639980014"
    manager.save(update_fields=["phone"])
    policy = EscalationPolicy.objects.create(service=dev_service, name="Developers on call")
    EscalationStep.objects.create(policy=policy, position=1, delay_minutes=0, target=Target.ON_CALL, rotation=rotation)
    EscalationStep.objects.create(policy=policy, position=2, delay_minutes=5, target=Target.USER, user=backup)
    EscalationStep.objects.create(policy=policy, position=3, delay_minutes=10, target=Target.MANAGERS)
    return policy


def pages_of(ticket) -> list[tuple[str, int]]:
    """[(username, level)] of the people a ticket paged, in order."""
    return list(Page.objects.filter(escalation__ticket=ticket).order_by("pk").values_list("user__username", "level"))

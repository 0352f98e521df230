"""On-call demo data, loaded by `manage.py demo_data`: a rotation and an escalation policy
per service. Idempotent: what exists is left as it is."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from .models import EscalationPolicy, EscalationStep, Override, Rotation, RotationMember, Target

FIRST_MONDAY = date(2026, 1, 5)
SHARED = ["developer", "network"]  # the technicians who also watch services with none of their own


def load(services: dict, people: dict, members_of: dict) -> None:
    """services: {name: Service}; people: {username: User}; members_of: {service name:
    [usernames]}. Each service gets a weekly "Primary" rotation of its technicians (the
    shared pair where it has none), handing off on Mondays at 09:00, and a policy: the
    person on call at once, the operator 5 minutes later, then the managers."""
    for name, service in services.items():
        rotation, created = Rotation.objects.get_or_create(
            service=service,
            name="Primary",
            defaults={"start_date": FIRST_MONDAY, "handoff_time": time(9), "shift_days": 7},
        )
        if created:
            usernames = members_of.get(name) or SHARED
            RotationMember.objects.bulk_create(
                RotationMember(rotation=rotation, user=people[username], position=position)
                for position, username in enumerate(usernames)
            )
            if name == "Network":
                # A holiday: the developer covers three days of next week.
                today = timezone.localdate()
                monday = today + timedelta(days=7 - today.weekday())
                Override.objects.create(
                    rotation=rotation,
                    user=people["developer"],
                    starts_at=timezone.make_aware(datetime.combine(monday, time(9))),
                    ends_at=timezone.make_aware(datetime.combine(monday + timedelta(days=3), time(9))),
                    reason="Nina on holiday",
                )
        policy, created = EscalationPolicy.objects.get_or_create(service=service, defaults={"name": f"{name} on call"})
        if created:
            EscalationStep.objects.bulk_create(
                [
                    EscalationStep(
                        policy=policy, position=1, delay_minutes=0, target=Target.ON_CALL, rotation=rotation
                    ),
                    EscalationStep(
                        policy=policy, position=2, delay_minutes=5, target=Target.USER, user=people["operator"]
                    ),
                    EscalationStep(policy=policy, position=3, delay_minutes=10, target=Target.MANAGERS),
                ]
            )

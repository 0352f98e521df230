"""Who is on call when: rotation arithmetic and overrides. Pure functions, no queries.

The callers pass a rotation's members (ordered) and its overrides, usually prefetched
(RotationQuerySet.with_schedule), so a page of many rotations costs a fixed number of
queries. Times are aware datetimes; hand-offs are computed in local time (TIME_ZONE).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import timezone


@dataclass(frozen=True)
class Shift:
    start: datetime
    end: datetime
    user: object  # the person on call, None when the rotation has nobody
    override: object = None  # the Override that put them there, if any


def _handoff(rotation, day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, rotation.handoff_time))


def shift_index(rotation, at: datetime) -> int | None:
    """The number of the regular shift running at `at` (0 = the first), None before it."""
    local = timezone.localtime(at)
    days = (local.date() - rotation.start_date).days
    if local.time() < rotation.handoff_time:
        days -= 1  # today's hand-off has not happened yet
    if days < 0:
        return None
    return days // rotation.shift_days


def regular_shift(rotation, members, index: int) -> Shift:
    """Shift `index` of the rotation as planned, before overrides."""
    first = rotation.start_date + timedelta(days=index * rotation.shift_days)
    user = members[index % len(members)].user if members else None
    return Shift(
        start=_handoff(rotation, first),
        end=_handoff(rotation, first + timedelta(days=rotation.shift_days)),
        user=user,
    )


def _covering(overrides, at: datetime):
    """The override in force at `at`: of several, the one created last."""
    found = [o for o in overrides if o.starts_at <= at < o.ends_at]
    return max(found, key=lambda o: o.pk) if found else None


def on_call(rotation, at: datetime, *, members, overrides=()):
    """The person on call in `rotation` at `at`, or None (before the start, nobody in it)."""
    override = _covering(overrides, at)
    if override is not None:
        return override.user
    index = shift_index(rotation, at)
    if index is None or not members:
        return None
    return regular_shift(rotation, members, index).user


def shifts(rotation, start: datetime, end: datetime, *, members, overrides=()) -> list[Shift]:
    """The shifts between `start` and `end` as they will happen: regular shifts cut
    where overrides begin and end, neighbours with the same person merged."""
    if end <= start:
        return []
    regular = []
    index = shift_index(rotation, start)
    if index is None:  # the window opens before the first shift: nobody until then
        index = 0
        regular.append(Shift(start, regular_shift(rotation, members, 0).start, None))
    while True:
        shift = regular_shift(rotation, members, index)
        if shift.start >= end:
            break
        regular.append(shift)
        index += 1

    # Cut at every boundary inside the window, then say who holds each piece.
    overrides = [o for o in overrides if o.ends_at > start and o.starts_at < end]
    cuts = {start, end}
    cuts.update(s.start for s in regular if start < s.start < end)
    for o in overrides:
        cuts.update(t for t in (o.starts_at, o.ends_at) if start < t < end)
    points = sorted(cuts)
    result: list[Shift] = []
    for begin, finish in zip(points, points[1:], strict=False):
        override = _covering(overrides, begin)
        if override is not None:
            piece = Shift(begin, finish, override.user, override)
        else:
            planned = next((s for s in regular if s.start <= begin < s.end), None)
            piece = Shift(begin, finish, planned.user if planned else None)
        previous = result[-1] if result else None
        if (
            previous is not None
            and previous.override is piece.override
            and getattr(previous.user, "pk", None) == getattr(piece.user, "pk", None)
            and (piece.override is not None or not any(s.start == begin for s in regular))
        ):
            result[-1] = Shift(previous.start, finish, previous.user, previous.override)
        else:
            result.append(piece)
    return result


@dataclass(frozen=True)
class RotationBoard:
    rotation: object
    current: Shift | None  # the shift running now
    shifts: list


@dataclass(frozen=True)
class ServiceBoard:
    service: object
    rotations: list
    policy: object  # EscalationPolicy with its steps, or None


def board(services, rotations, policies, *, start: datetime, end: datetime) -> list[ServiceBoard]:
    """Per service: each rotation's person on call at `start` and its shifts until `end`,
    and the escalation policy. Reads only what was prefetched (with_schedule, with_steps)."""
    by_service: dict[int, list[RotationBoard]] = {}
    for rotation in rotations:
        planned = shifts(
            rotation, start, end, members=list(rotation.members.all()), overrides=list(rotation.overrides.all())
        )
        by_service.setdefault(rotation.service_id, []).append(
            RotationBoard(rotation, planned[0] if planned else None, planned)
        )
    policy_of = {policy.service_id: policy for policy in policies}
    return [ServiceBoard(service, by_service.get(service.pk, []), policy_of.get(service.pk)) for service in services]

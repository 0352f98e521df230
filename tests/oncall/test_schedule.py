"""Rotation arithmetic: hand-offs at the local hand-off time, shift lengths, overrides on top.

Pure functions on unsaved rows: no database."""

from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace

from django.utils import timezone

from accounts.models import User
from oncall import schedule
from oncall.models import Override, Rotation

from .conftest import PARIS

ANNA, BEN, CLEO = (User(pk=pk, username=name) for pk, name in enumerate(["anna", "ben", "cleo"], 1))


def members(*people):
    return [SimpleNamespace(user=person) for person in people]


def at(*args):
    return datetime(*args, tzinfo=PARIS)


def weekly():
    # Hand-offs on Mondays (5 January 2026 is one) at 09:00.
    return Rotation(start_date=date(2026, 1, 5), handoff_time=time(9), shift_days=7)


def override(pk, user, start, end):
    return Override(pk=pk, user=user, starts_at=start, ends_at=end)


def test_weekly_rotation_hands_off_on_the_start_weekday_at_the_handoff_time():
    rotation, team = weekly(), members(ANNA, BEN, CLEO)
    assert rotation.handoff_weekday == 0  # Monday
    assert schedule.on_call(rotation, at(2026, 1, 5, 9, 0), members=team) is ANNA
    assert schedule.on_call(rotation, at(2026, 1, 11, 23, 59), members=team) is ANNA
    assert schedule.on_call(rotation, at(2026, 1, 12, 8, 59), members=team) is ANNA  # not yet 09:00
    assert schedule.on_call(rotation, at(2026, 1, 12, 9, 0), members=team) is BEN
    assert schedule.on_call(rotation, at(2026, 1, 19, 9, 0), members=team) is CLEO
    assert schedule.on_call(rotation, at(2026, 1, 26, 9, 0), members=team) is ANNA  # round again


def test_daily_rotation_changes_every_day_at_the_handoff_time():
    rotation = Rotation(start_date=date(2026, 1, 5), handoff_time=time(18, 30), shift_days=1)
    team = members(ANNA, BEN)
    assert schedule.on_call(rotation, at(2026, 1, 5, 18, 30), members=team) is ANNA
    assert schedule.on_call(rotation, at(2026, 1, 6, 18, 29), members=team) is ANNA
    assert schedule.on_call(rotation, at(2026, 1, 6, 18, 30), members=team) is BEN
    assert schedule.on_call(rotation, at(2026, 1, 7, 18, 30), members=team) is ANNA


def test_nobody_before_the_first_shift_or_in_an_empty_rotation():
    assert schedule.on_call(weekly(), at(2026, 1, 5, 8, 59), members=members(ANNA)) is None
    assert schedule.on_call(weekly(), at(2026, 3, 2, 10, 0), members=[]) is None


def test_handoff_stays_at_nine_local_across_daylight_saving():
    # Paris moves to summer time on Sunday 29 March 2026: that week lasts 167 hours.
    rotation, team = weekly(), members(ANNA, BEN)
    shift = schedule.regular_shift(rotation, team, schedule.shift_index(rotation, at(2026, 3, 25, 12, 0)))
    assert timezone.localtime(shift.start).hour == 9 and timezone.localtime(shift.end).hour == 9
    assert shift.end.astimezone(UTC) - shift.start.astimezone(UTC) == timedelta(days=7, hours=-1)
    assert schedule.on_call(rotation, at(2026, 3, 30, 9, 0), members=team) is not shift.user


def test_overrides_win_and_the_later_of_two_overlapping_wins():
    rotation, team = weekly(), members(ANNA, BEN)
    holiday = override(1, CLEO, at(2026, 1, 6, 9, 0), at(2026, 1, 8, 9, 0))
    swap = override(2, BEN, at(2026, 1, 7, 0, 0), at(2026, 1, 7, 12, 0))
    overrides = [swap, holiday]
    assert schedule.on_call(rotation, at(2026, 1, 6, 8, 59), members=team, overrides=overrides) is ANNA
    assert schedule.on_call(rotation, at(2026, 1, 6, 9, 0), members=team, overrides=overrides) is CLEO
    assert schedule.on_call(rotation, at(2026, 1, 7, 6, 0), members=team, overrides=overrides) is BEN
    assert schedule.on_call(rotation, at(2026, 1, 7, 12, 0), members=team, overrides=overrides) is CLEO
    assert schedule.on_call(rotation, at(2026, 1, 8, 9, 0), members=team, overrides=overrides) is ANNA


def test_shifts_cut_the_plan_where_overrides_begin_and_end():
    rotation, team = weekly(), members(ANNA, BEN)
    holiday = override(1, CLEO, at(2026, 1, 14, 9, 0), at(2026, 1, 21, 9, 0))  # across a hand-off
    plan = schedule.shifts(rotation, at(2026, 1, 10, 12, 0), at(2026, 1, 26, 9, 0), members=team, overrides=[holiday])
    assert [(s.start, s.end, s.user, s.override is not None) for s in plan] == [
        (at(2026, 1, 10, 12, 0), at(2026, 1, 12, 9, 0), ANNA, False),  # the running shift, from now
        (at(2026, 1, 12, 9, 0), at(2026, 1, 14, 9, 0), BEN, False),
        (at(2026, 1, 14, 9, 0), at(2026, 1, 21, 9, 0), CLEO, True),  # one override, one row
        (at(2026, 1, 21, 9, 0), at(2026, 1, 26, 9, 0), ANNA, False),
    ]


def test_shifts_before_the_start_show_nobody_until_the_first_handoff():
    plan = schedule.shifts(weekly(), at(2026, 1, 1, 0, 0), at(2026, 1, 12, 9, 0), members=members(ANNA))
    assert [(s.start, s.user) for s in plan] == [(at(2026, 1, 1, 0, 0), None), (at(2026, 1, 5, 9, 0), ANNA)]

"""How each person hears of each kind of event: their choice, else their role's default."""

from django.contrib.auth import get_user_model
from django.db.models import Q

from accounts.roles import Role

from .models import Channel, Event, Preference

# role -> events told by SMS as well as e-mail, when the person has a phone number.
SMS_BY_DEFAULT = {
    Role.TECHNICIAN: {Event.ASSIGNED, Event.PAGE},
    Role.MANAGER: {Event.PAGE},
    Role.OPERATOR: {Event.PAGE},
}


def default_channels(roles: set[str], event: str) -> tuple[bool, bool]:
    """(e-mail, SMS) for someone with `roles` who set nothing for `event`."""
    sms = any(event in SMS_BY_DEFAULT.get(Role(role), ()) for role in roles if role in Role.values)
    return True, sms or event == Event.PAGE


def channels_for(user_ids, event: str) -> dict[int, list[str]]:
    """{user id: [channels]} for `event`. Pages always go by e-mail and SMS; an address
    or a phone number that is missing drops that channel. Three queries for any number."""
    users = {u["pk"]: u for u in get_user_model().objects.filter(pk__in=list(user_ids)).values("pk", "email", "phone")}
    chosen = {p.user_id: (p.email, p.sms) for p in Preference.objects.filter(user_id__in=list(users), event=event)}
    roles: dict[int, set[str]] = {}
    for pk, name in (
        get_user_model().groups.through.objects.filter(Q(user_id__in=list(users))).values_list("user_id", "group__name")
    ):
        roles.setdefault(pk, set()).add(name)
    result = {}
    for pk, user in users.items():
        email, sms = (
            (True, True) if event == Event.PAGE else chosen.get(pk) or default_channels(roles.get(pk, set()), event)
        )
        channels = []
        if email and user["email"]:
            channels.append(Channel.EMAIL)
        if sms and user["phone"]:
            channels.append(Channel.SMS)
        if channels:
            result[pk] = channels
    return result

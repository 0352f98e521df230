"""The roles of the desk and what each may do.

A role is a Django group holding permissions; code asks `user.has_perm(...)`, never the
group's name. `sync_roles` (run after every migrate, idempotent) creates the groups and
gives each exactly the permissions listed here.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR = "Operators", _("Operator")
    TECHNICIAN = "Technicians", _("Technician")
    MANAGER = "Managers", _("Manager")
    USER = "Users", _("User / customer")
    ADMINISTRATOR = "Administrators", _("Administrator")


_REFERENCE_DATA = [
    f"{app}.{verb}_{model}"
    for app, model in [
        ("accounts", "user"),
        ("auth", "group"),
        ("incidents", "service"),
        ("incidents", "application"),
        ("incidents", "membership"),
        ("oncall", "rotation"),
        ("oncall", "rotationmember"),
        ("oncall", "override"),
        ("oncall", "escalationpolicy"),
        ("oncall", "escalationstep"),
        ("intake", "mailbox"),
    ]
    for verb in ("add", "change", "delete", "view")
] + ["oncall.view_escalation", "oncall.view_page", "intake.view_inboundmessage"]  # read-only in the admin

PERMISSIONS = {
    Role.OPERATOR: ["incidents.see_all_tickets", "incidents.open_ticket"],
    Role.TECHNICIAN: ["incidents.work_tickets"],
    Role.MANAGER: ["incidents.see_all_tickets", "incidents.open_ticket", "incidents.decide_evolution_request"],
    Role.USER: [],
    # The notifications admin: what was sent, what failed (and sending it again).
    Role.ADMINISTRATOR: [*_REFERENCE_DATA, "notifications.view_notification"],
}


def sync_roles(**kwargs):
    from django.contrib.auth.models import Group, Permission

    # One query for all the permissions: this runs after each app's post_migrate, so after
    # every flush of a transactional test too, where a query per permission cost seconds.
    codenames = {name.split(".")[1] for names in PERMISSIONS.values() for name in names}
    existing = {
        f"{app_label}.{codename}": pk
        for pk, app_label, codename in Permission.objects.filter(codename__in=codenames).values_list(
            "pk", "content_type__app_label", "codename"
        )
    }
    for role, names in PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        group.permissions.set([existing[name] for name in names if name in existing])


def give_role(user, role: Role) -> None:
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=role.value))
    if role == Role.ADMINISTRATOR and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


def roles_of(user) -> list[Role]:
    names = {g.name for g in user.groups.all()}
    return [role for role in Role if role.value in names]

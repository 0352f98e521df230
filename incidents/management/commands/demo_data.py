"""Load the demo desk: one account per role, a few services (each with an on-call rotation
and an escalation policy), applications and tickets.

Idempotent: a second run finds everything in place and changes nothing.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.roles import Role, give_role
from incidents import actions
from incidents.models import Application, Membership, Service, Ticket
from oncall import demo as oncall_demo

PASSWORD = "firebreak"  # noqa: S105 (demo accounts, printed by `make run`)

ACCOUNTS = [
    # username, first name, last name, role, services
    ("admin", "Ada", "Admin", Role.ADMINISTRATOR, []),
    ("operator", "Olivia", "Operator", Role.OPERATOR, []),
    ("developer", "Dev", "Eloper", Role.TECHNICIAN, ["Application developers"]),
    ("network", "Nina", "Network", Role.TECHNICIAN, ["Network"]),
    ("manager", "Max", "Manager", Role.MANAGER, []),
    ("user", "Ursula", "User", Role.USER, []),
    ("customer", "Carl", "Customer", Role.USER, []),
]

# Fictional mobile numbers (the range ARCEP reserves for fiction): pages reach var/sms/.
PHONES = {
    "operator": "+33639980001",
    "developer": "+33639980002",
    "network": "+33639980003",
    "manager": "+33639980004",
}

SERVICES = ["Application developers", "Network", "Infrastructure", "Service desk", "Security"]

APPLICATIONS = [
    ("Intranet", "Application developers"),
    ("ERP", "Application developers"),
    ("Payroll", "Application developers"),
    ("Mail", "Infrastructure"),
    ("VPN", "Network"),
]

TICKETS = [
    # reporter, application, title, description, gravity, criticality
    (
        "user",
        "Intranet",
        "Error message at login",
        'Since this morning the intranet shows "Authentication failed: internal error" after the password.',
        "severe",
        "blocking",
    ),
    (
        "customer",
        "ERP",
        "Invoice export is slow",
        "Exporting the monthly invoices takes more than ten minutes.",
        "annoying",
        "non_blocking",
    ),
    (
        "user",
        "Payroll",
        "Add a CSV export of payslips",
        "The accountants would like to export payslips as CSV.",
        "minor",
        "evolution",
    ),
    (
        "customer",
        "VPN",
        "VPN drops every hour",
        "The VPN connection drops every hour on the hour.",
        "annoying",
        "blocking",
    ),
]


class Command(BaseCommand):
    help = (
        "Load demo accounts (one per role), services with on-call rotations and escalation policies, "
        "applications and tickets. Safe to run twice."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        User = get_user_model()
        services = {name: Service.objects.get_or_create(name=name)[0] for name in SERVICES}
        applications = {
            name: Application.objects.get_or_create(name=name, defaults={"default_service": services[service]})[0]
            for name, service in APPLICATIONS
        }
        people = {}
        for username, first, last, role, member_of in ACCOUNTS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.com",
                    "phone": PHONES.get(username, ""),
                },
            )
            if created:
                user.set_password(PASSWORD)
                user.is_superuser = role == Role.ADMINISTRATOR
                user.save()
            give_role(user, role)
            for name in member_of:
                Membership.objects.get_or_create(user=user, service=services[name])
            people[username] = user

        # Before the tickets, so the top-priority one pages the developers' on-call person.
        members_of = {}
        for username, _first, _last, _role, member_of in ACCOUNTS:
            for name in member_of:
                members_of.setdefault(name, []).append(username)
        oncall_demo.load(services, people, members_of)

        for reporter, application, title, description, gravity, criticality in TICKETS:
            if Ticket.objects.filter(title=title, reporter=people[reporter]).exists():
                continue
            app = applications[application]
            actions.open_ticket(
                by=people["operator"],
                reporter=people[reporter],
                application=app,
                service=app.default_service,
                title=title,
                description=description,
                gravity=gravity,
                criticality=criticality,
                channel="phone",
            )

        self.stdout.write(f"Demo accounts (password: {PASSWORD}):")
        for username, _first, _last, role, member_of in ACCOUNTS:
            where = f" in {', '.join(member_of)}" if member_of else ""
            self.stdout.write(f"  {username:<10} {role.label}{where}")

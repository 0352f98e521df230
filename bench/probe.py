"""The bench's look inside the database, run as its own process (one per database).

    python bench/probe.py count   OUT.json           tickets in the database (after removing bench leftovers)
    python bench/probe.py targets OUT.json           accounts, tickets and URLs the scenarios use
    python bench/probe.py queries IN.json OUT.json   SQL queries per scenario, through django.test.Client
    python bench/probe.py cleanup OUT.json           delete the tickets the bench created

DATABASE_URL names the database. `queries` runs every request twice in one transaction
that is rolled back, and counts the second run (the first fills per-process caches).
"""

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from incidents import actions  # noqa: E402
from incidents.models import Application, Gravity, Membership, Service, Status, Ticket  # noqa: E402
from incidents.pagination import _encode  # noqa: E402

BENCH_TITLE = "[bench]"  # every ticket the bench creates starts with this; cleanup removes them
RARE_WORD = "kerberos"  # appears in no generated text: a search that finds nothing reads everything


def _user(username):
    return get_user_model().objects.get(username=username)


def cleanup() -> dict:
    operator = _user("bench-operator")
    leftovers = Ticket.objects.filter(created_by=operator, title__startswith=BENCH_TITLE)
    deleted, _by_model = leftovers.delete()
    return {"deleted": deleted}


def count() -> dict:
    try:
        removed = cleanup()["deleted"]
    except get_user_model().DoesNotExist:
        removed = 0
    active = Ticket.objects.exclude(status=Status.CLOSED).count()
    return {"tickets": Ticket.objects.count(), "active": active, "removed_leftovers": removed}


DEEP_PAGE = 2000  # issue 4: page 2,000 of a filtered list
PAGE_SIZE = 25  # FIREBREAK_PAGE_SIZE's default, which the bench's server runs with


def targets() -> dict:
    """What each scenario reads or changes, chosen from the loaded data."""
    tech = _user("bench-tech")
    service = Service.objects.get(pk=Membership.objects.filter(user=tech).values("service_id")[:1])
    queue = Ticket.objects.filter(service=service).exclude(status=Status.CLOSED)
    # The application with the most active tickets in the queue, and its commonest gravity.
    top = queue.values("application").annotate(n=Count("id")).order_by("-n", "application")[:1].get()
    gravity = (
        queue.filter(application=top["application"])
        .values("gravity")
        .annotate(n=Count("id"))
        .order_by("-n", "gravity")[:1]
        .get()["gravity"]
    )
    # An open ticket of the queue with a full timeline (20 entries), as its technician sees it.
    full = (
        queue.filter(status=Status.OPEN)
        .annotate(n=Count("timeline"))
        .order_by("-n", "-id")
        .values_list("number", "n")[:1]
        .get()
    )
    other = Service.objects.exclude(pk=service.pk).order_by("pk").values_list("pk", flat=True)[:1].get()
    # Page 2,000 (or the last page, on a small desk) of the closed tickets filtered by gravity,
    # as the cursor a person would reach by paging: the sort values of the row before it.
    closed = Ticket.objects.filter(status=Status.CLOSED, gravity=Gravity.MINOR).order_by("-closed_at", "-id")
    page = min(DEEP_PAGE, max(closed.count() // PAGE_SIZE, 1))
    last_before = closed.values_list("closed_at", "id")[(page - 1) * PAGE_SIZE - 1] if page > 1 else None
    return {
        "closed_deep_page": page,
        "closed_deep_cursor": _encode(list(last_before), "n") if last_before else "",
        "service": service.pk,
        "service_name": service.name,
        "other_service": other,
        "queue_active": queue.count(),
        "application": top["application"],
        "application_active": top["n"],
        "gravity": gravity,
        "full_ticket": full[0],
        "full_ticket_entries": full[1],
        "caller": _user("bench-caller").pk,
        "intake_application": Application.objects.filter(default_service=service)
        .order_by("pk")
        .values_list("pk", flat=True)[:1]
        .get(),
        "customer_tickets": Ticket.objects.filter(reporter=_user("bench-customer")).count(),
        "search_word": "certificate",
        "rare_word": RARE_WORD,
        "gravities": [g.value for g in Gravity],
    }


def _bench_ticket(target, title):
    operator = _user("bench-operator")
    service = Service.objects.get(pk=target["service"])
    application = Application.objects.get(pk=target["intake_application"])
    return actions.open_ticket(
        by=operator,
        reporter=_user("bench-caller"),
        application=application,
        service=service,
        title=f"{BENCH_TITLE} {title}",
        description="Created by the bench.",
        gravity="minor",
        criticality="non_blocking",
        channel="phone",
    )


def queries(spec: dict) -> dict:
    """SQL queries of each scenario's request, in a transaction rolled back at the end."""
    counts = {}
    with transaction.atomic():
        target = spec["targets"]
        for scenario in spec["scenarios"]:
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(_user(scenario["user"]))
            path, data = scenario["path"], scenario.get("data")
            per_run = []
            for run in range(2):
                if "{ticket}" in path:
                    number = _bench_ticket(target, f"queries {scenario['name']} {run}").number
                    url = path.replace("{ticket}", number)
                else:
                    url = path
                with CaptureQueriesContext(connection) as captured:
                    response = client.post(url, data) if data is not None else client.get(url)
                if response.status_code not in (200, 302):
                    raise SystemExit(f"{scenario['name']}: {url} answered {response.status_code}")
                per_run.append(len(captured.captured_queries))
            counts[scenario["name"]] = per_run[-1]
        transaction.set_rollback(True)
    return counts


def main(argv):
    command, *paths = argv
    if command == "queries":
        result = queries(json.loads(Path(paths[0]).read_text()))
    else:
        result = {"count": count, "targets": targets, "cleanup": cleanup}[command]()
    Path(paths[-1]).write_text(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main(sys.argv[1:])

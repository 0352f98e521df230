"""Fill the desk with a realistic volume of data, for benchmarks and capacity checks.

    manage.py seed_load --tickets 1000000            # ~5 minutes on PostgreSQL, 2 cores
    manage.py seed_load --tickets 10000 --open 3000  # a small desk with a full queue

What it writes:
- 24 services, 240 applications (each with a default service), 5,000 people in the roles of
  accounts.roles: operators, managers, technicians (Membership rows in one or two
  services, proportional to the services' load) and users/customers. Every generated
  account logs in with the password in PASSWORD. Well-known accounts for the bench:
  bench-operator, bench-manager, bench-tech (member of the largest service only),
  bench-customer (reporter of a few tickets) and bench-caller (a customer with no ticket).
- Tickets spread over the last three years: most closed, `--open` of them active (open or
  pending decision, mostly recent), realistic shares of gravity, criticality and channel.
  Each has 0 to `--timeline-max` timeline entries (created, comments, interventions,
  assignments, re-routes, status changes) that agree with the ticket: time_spent is the
  sum of the intervention minutes, the service is where the last re-route led, priority
  comes from incidents.rules.priority_for.
- Ticket numbers continue each year's TicketCounter, reserved up front in one short
  transaction, so a second run (or a desk in use) keeps every number unique and the next
  open_ticket continues after the loaded ones.

Reference data is found by name before it is created, so a second run reuses the services,
applications and people of the first and only adds tickets. The same --seed gives the same
data. On PostgreSQL the rows go in through COPY; for a large load into a small table the
secondary indexes and foreign keys of the two big tables are dropped and rebuilt in the same
transaction (the tables are locked meanwhile; see --keep-indexes). SQLite uses bulk_create.
"""

import bisect
import math
import random
import time
from collections import Counter
from datetime import UTC, datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from accounts.roles import Role
from incidents.models import (
    Application,
    Channel,
    Criticality,
    Gravity,
    Kind,
    Membership,
    Service,
    Status,
    Ticket,
    TicketCounter,
    TimelineEntry,
)
from incidents.rules import priority_for

PASSWORD = "firebreak-bench"  # noqa: S105 (every generated account; documented in bench/README.md)
YEAR = 365.25 * 24 * 3600
BATCH = 20_000

SERVICES = [
    # name, share of the tickets (weights, normalised below)
    ("Service desk", 16),
    ("Workplace support", 12),
    ("Application developers", 10),
    ("Network", 8),
    ("Infrastructure", 7),
    ("Identity and access", 6),
    ("ERP support", 5),
    ("Messaging", 4),
    ("Databases", 4),
    ("Security", 3.5),
    ("Telephony", 3),
    ("Printing", 3),
    ("Storage and backup", 2.5),
    ("Cloud platform", 2.5),
    ("Data and reporting", 2),
    ("Web portals", 2),
    ("Mobile devices", 2),
    ("Payroll and HR systems", 1.5),
    ("Finance systems", 1.5),
    ("Logistics systems", 1.5),
    ("Facilities", 1),
    ("Procurement", 1),
    ("Legal and compliance", 0.5),
    ("Architecture", 0.5),
]
APP_DOMAINS = [
    "Intranet",
    "ERP",
    "Payroll",
    "Mail",
    "VPN",
    "CRM",
    "Wiki",
    "Expense",
    "Timesheet",
    "Procurement",
    "Badge",
    "Print",
    "Backup",
    "Monitoring",
    "Datawarehouse",
    "Billing",
    "Contracts",
    "Recruitment",
    "Training",
    "Helpdesk",
    "Inventory",
    "Fleet",
    "Planning",
    "Archive",
]
APP_VARIANTS = ["", " Mobile", " Reporting", " API", " Portal", " Admin", " Sync", " Legacy", " Cloud", " Next"]
FIRST_NAMES = [
    "Alice",
    "Bruno",
    "Chloé",
    "David",
    "Emma",
    "Farid",
    "Gaëlle",
    "Hugo",
    "Inès",
    "Jules",
    "Karim",
    "Léa",
    "Marc",
    "Nora",
    "Oscar",
    "Pauline",
    "Quentin",
    "Rose",
    "Samir",
    "Théo",
    "Ursula",
    "Victor",
    "Wendy",
    "Yasmine",
    "Zoé",
]
LAST_NAMES = [
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Leroy",
    "Moreau",
    "Simon",
    "Laurent",
    "Lefebvre",
    "Michel",
    "Garcia",
    "David",
    "Bertrand",
    "Roux",
    "Vincent",
    "Fournier",
    "Morel",
    "Girard",
    "Andre",
    "Mercier",
    "Dupont",
    "Lambert",
    "Bonnet",
    "Francois",
    "Martinez",
    "Legrand",
]
TITLES = [
    "{app}: error message at login",
    "{app} is very slow since this morning",
    "{app} does not start",
    "Cannot export the report from {app}",
    "{app} shows a blank page",
    "Password reset for {app}",
    "{app}: access denied to my folder",
    "{app} times out on save",
    "Certificate warning on {app}",
    "{app}: wrong totals in the monthly report",
    "{app} crashes when attaching a file",
    "Add a field to the {app} form",
    "{app}: duplicate entries after the import",
    "{app} sync failed overnight",
    "{app}: cannot print",
    "New account needed on {app}",
    "{app}: session expires too quickly",
    "{app} alert: response time above threshold",
    "{app}: button missing after the update",
    "{app}: e-mail notifications not received",
    "Request: CSV export in {app}",
    "{app} freezes on the search page",
    "{app}: translation missing in French",
    "{app}: licence expired",
    "{app}: disk almost full on the server",
]
SENTENCES = [
    "Since this morning the screen shows an internal error after the password.",
    "Several colleagues on the second floor have the same problem.",
    "It worked yesterday before the update.",
    "The problem happens every time, on two different computers.",
    "We restarted the computer and cleared the browser cache, without success.",
    "The message says the connection timed out after thirty seconds.",
    "Closing the month depends on it, please handle it quickly.",
    "The certificate seems to have expired on the server.",
    "Attached: the exact message and the time it happened.",
    "Only users of the accounting department are affected.",
    "The export stops at about half of the rows.",
    "The caller works remotely through the VPN.",
    "It started after the password change imposed last week.",
    "The monitoring raised the alert three times tonight.",
    "A workaround exists but takes much longer.",
    "The request comes from the head of the department.",
    "Nothing in the logs on the workstation side.",
    "The page loads forever and then shows a gateway error.",
    "Numbers in the report do not match the ledger.",
    "The printer queue is stuck with forty documents.",
]
COMMENTS = [
    "Called the user back, the problem is confirmed.",
    "Waiting for the user's screenshot.",
    "Same symptom reported by another department.",
    "User confirms it works again.",
    "Reproduced on the test environment.",
    "Asked the supplier for a fix date.",
    "The workaround was explained to the user.",
    "Logs collected and attached.",
    "Could not reach the user, will try again this afternoon.",
    "Linked to the change of last Tuesday.",
]
WORK = [
    "Restarted the application service.",
    "Cleared the user's profile and cache.",
    "Renewed the certificate.",
    "Rebuilt the index of the report database.",
    "Reset the account and unlocked it.",
    "Applied the supplier's patch on the test server, then production.",
    "Increased the disk quota.",
    "Reinstalled the client on the workstation.",
    "Fixed the import script and re-ran it.",
    "Replaced the network cable and tested the port.",
]
REROUTES = [
    "Not a workstation problem: the server answers with errors.",
    "The database locks during the export.",
    "Network traces show packets dropped at the firewall.",
    "Needs a change in the application's code.",
    "Account rights are managed by the identity team.",
    "Wrong service at intake, sending to the right one.",
]
CLOSINGS = [
    "Solved, confirmed with the user.",
    "Fixed by the patch, no more errors.",
    "Duplicate of another ticket.",
    "No answer from the user for ten days, closing.",
    "Works as designed, explained to the user.",
]
DECISIONS_ACCEPT = ["Accepted: planned for the next release.", "Accepted, the service will size it."]
DECISIONS_DECLINE = ["Declined: not in this year's budget.", "Declined: the standard report covers it."]

GRAVITIES = ([Gravity.SEVERE] * 10) + ([Gravity.ANNOYING] * 35) + ([Gravity.MINOR] * 55)
CRITICALITIES = ([Criticality.BLOCKING] * 20) + ([Criticality.NON_BLOCKING] * 72) + ([Criticality.EVOLUTION] * 8)
CHANNELS = (
    ([Channel.PHONE] * 40)
    + ([Channel.EMAIL] * 25)
    + ([Channel.PORTAL] * 20)
    + ([Channel.ALERT] * 10)
    + ([Channel.API] * 5)
)
TICKET_COLUMNS = [
    "id",
    "number",
    "title",
    "description",
    "application_id",
    "service_id",
    "reporter_id",
    "created_by_id",
    "assignee_id",
    "gravity",
    "criticality",
    "priority",
    "status",
    "channel",
    "created_at",
    "updated_at",
    "first_response_at",
    "closed_at",
    "time_spent",
]
ENTRY_COLUMNS = [
    "ticket_id",
    "kind",
    "author_id",
    "created_at",
    "body",
    "performed_at",
    "minutes",
    "from_service_id",
    "to_service_id",
    "from_status",
    "to_status",
    "assignee_id",
]


class Cast:
    """The people and places of the desk, as ids, with the weights tickets are drawn with."""

    def __init__(
        self,
        services,
        service_weights,
        applications,
        app_weights,
        techs,
        operators,
        managers,
        customers,
        bench_customer,
    ):
        self.services = services  # [service id], largest first
        self.service_cum = _cumulative(service_weights)
        self.applications = applications  # [(application id, default service id, name)]
        self.app_cum = _cumulative(app_weights)
        self.techs = techs  # {service id: [user id]}
        self.operators = operators
        self.managers = managers
        self.customers = customers
        self.bench_customer = bench_customer


def _cumulative(weights):
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


class Command(BaseCommand):
    help = "Load a realistic volume of services, applications, people and tickets (adds to what is there)."

    def add_arguments(self, parser):
        parser.add_argument("--tickets", type=int, default=10_000, help="Tickets to add (default 10,000).")
        parser.add_argument(
            "--open",
            type=int,
            default=None,
            help="How many of them are active (open or pending decision). Default: 3%% of --tickets.",
        )
        parser.add_argument("--users", type=int, default=5_000, help="People on the desk (default 5,000).")
        parser.add_argument("--timeline-max", type=int, default=20, help="Most timeline entries per ticket (20).")
        parser.add_argument("--years", type=float, default=3.0, help="Tickets spread over this many years (3).")
        parser.add_argument("--seed", type=int, default=4, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--keep-indexes",
            action="store_true",
            help="PostgreSQL: never drop and rebuild indexes, even for a load larger than the table.",
        )
        parser.add_argument("--no-vacuum", action="store_true", help="PostgreSQL: skip VACUUM ANALYZE at the end.")

    def handle(self, *args, **options):
        count = options["tickets"]
        if count < 0 or options["timeline_max"] < 0 or options["users"] < 50:
            raise CommandError("--tickets and --timeline-max must be positive, --users at least 50.")
        active = options["open"] if options["open"] is not None else math.ceil(count * 0.03)
        active = max(0, min(active, count))
        rng = random.Random(options["seed"])
        started = time.monotonic()

        cast = self._cast(options["users"], rng)
        self._log(
            f"Reference data ready: {len(cast.services)} services, {len(cast.applications)} applications, "
            f"{len({u for t in cast.techs.values() for u in t})} technicians, {len(cast.customers)} customers "
            f"({time.monotonic() - started:.1f}s)."
        )

        now = timezone.now().timestamp()
        times = sorted(now - rng.random() * options["years"] * YEAR for _ in range(count))
        active_indexes = _pick_active(count, active, rng)
        years, boundaries = _year_boundaries(times)
        per_year = Counter(years[bisect.bisect_right(boundaries, t) - 1] for t in times)
        first_number = self._reserve_numbers(per_year)

        generator = TicketGenerator(cast, rng, options["timeline_max"], now)
        numbering = Numbering(first_number, years, boundaries)
        if connection.vendor == "postgresql":
            entries = self._load_postgresql(times, active_indexes, generator, numbering, options)
        else:
            entries = self._load_bulk_create(times, active_indexes, generator, numbering)
        self._log(
            f"Loaded {count:,} tickets ({len(active_indexes):,} active) and {entries:,} timeline entries "
            f"in {time.monotonic() - started:.1f}s. Password of every generated account: {PASSWORD}"
        )

    def _log(self, message):
        self.stdout.write(message)
        self.stdout.flush()

    # Reference data -------------------------------------------------------------------------

    @transaction.atomic
    def _cast(self, user_count, rng) -> Cast:
        services = []
        for name, _weight in SERVICES:
            service, _created = Service.objects.get_or_create(
                name=name, defaults={"email": f"{name.lower().replace(' ', '-')}@example.com"}
            )
            services.append(service.pk)
        service_weights = [weight for _name, weight in SERVICES]

        wanted_apps = []
        for i, (domain, variant) in enumerate((d, v) for v in APP_VARIANTS for d in APP_DOMAINS):
            # Each domain belongs to a service; its variants mostly too.
            home = services[(APP_DOMAINS.index(domain) * 7 + (i // len(APP_DOMAINS) % 3 == 2)) % len(services)]
            wanted_apps.append((f"{domain}{variant}", home))
        existing = {a.name: a for a in Application.objects.filter(name__in=[n for n, _s in wanted_apps])}
        Application.objects.bulk_create(
            [Application(name=name, default_service_id=home) for name, home in wanted_apps if name not in existing]
        )
        apps = {a.name: a for a in Application.objects.filter(name__in=[n for n, _s in wanted_apps])}
        applications = [(apps[name].pk, apps[name].default_service_id or home, name) for name, home in wanted_apps]
        # Popular applications first: a long tail, like a real catalogue.
        app_weights = [1.0 / (1 + i) ** 0.8 for i in range(len(applications))]

        people = self._people(user_count, services, service_weights)
        return Cast(
            services,
            service_weights,
            applications,
            app_weights,
            people["techs"],
            people["operators"],
            people["managers"],
            people["customers"],
            people["bench-customer"],
        )

    def _people(self, user_count, services, service_weights):
        """Find or create the generated accounts, their groups and memberships."""
        User = get_user_model()
        n_operators = max(5, user_count // 100)
        n_managers = max(3, user_count // 200)
        n_techs = max(len(services) * 2, user_count // 10)
        n_customers = user_count - n_operators - n_managers - n_techs
        plan = [
            ("bench-operator", Role.OPERATOR),
            ("bench-manager", Role.MANAGER),
            ("bench-tech", Role.TECHNICIAN),
            ("bench-customer", Role.USER),
            ("bench-caller", Role.USER),
        ]
        plan += [(f"seed-operator-{i:04d}", Role.OPERATOR) for i in range(n_operators)]
        plan += [(f"seed-manager-{i:04d}", Role.MANAGER) for i in range(n_managers)]
        plan += [(f"seed-tech-{i:04d}", Role.TECHNICIAN) for i in range(n_techs)]
        plan += [(f"seed-user-{i:05d}", Role.USER) for i in range(n_customers)]

        existing = set(User.objects.filter(username__in=[u for u, _r in plan]).values_list("username", flat=True))
        password = make_password(PASSWORD)  # hashed once: 5,000 hashes would take half an hour
        new = []
        for i, (username, _role) in enumerate(plan):
            if username in existing:
                continue
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
            new.append(
                User(
                    username=username,
                    first_name=first,
                    last_name=last,
                    password=password,
                    email=f"{username}@example.com",
                )
            )
        User.objects.bulk_create(new, batch_size=1000)
        ids = dict(User.objects.filter(username__in=[u for u, _r in plan]).values_list("username", "pk"))

        groups = {g.name: g.pk for g in Group.objects.filter(name__in=[r.value for r in Role])}
        if len(groups) < len(Role):
            raise CommandError("The role groups are missing: run `manage.py migrate` first.")
        Through = User.groups.through
        Through.objects.bulk_create(
            [Through(user_id=ids[u], group_id=groups[role.value]) for u, role in plan],
            ignore_conflicts=True,
            batch_size=2000,
        )

        # Technicians per service follow the services' load; a fifth also help a second service.
        tech_names = [u for u, role in plan if role == Role.TECHNICIAN and u != "bench-tech"]
        total_weight = sum(service_weights)
        slots = []
        for service, weight in zip(services, service_weights, strict=True):
            slots += [service] * max(2, round(len(tech_names) * weight / total_weight))
        memberships = [("bench-tech", services[0])]
        for i, username in enumerate(tech_names):
            # The first ones go one per service, so even a small desk staffs every service.
            memberships.append((username, services[i] if i < len(services) else slots[i % len(slots)]))
            if i % 5 == 4:
                second = services[(services.index(slots[i % len(slots)]) + 1 + i % 3) % len(services)]
                memberships.append((username, second))
        Membership.objects.bulk_create(
            [Membership(user_id=ids[u], service_id=s) for u, s in memberships],
            ignore_conflicts=True,
            batch_size=2000,
        )
        techs = {s: [] for s in services}
        for user_id, service_id in (
            Membership.objects.filter(service_id__in=services, user_id__in=[ids[u] for u in tech_names])
            .values_list("user_id", "service_id")
            .order_by("pk")
        ):
            techs[service_id].append(user_id)
        for service in services:
            if not techs[service]:
                raise CommandError(f"Service {service} has no technician.")
        return {
            "techs": techs,
            "operators": [ids[u] for u, r in plan if r == Role.OPERATOR and u != "bench-operator"],
            "managers": [ids[u] for u, r in plan if r == Role.MANAGER and u != "bench-manager"],
            "customers": [ids[u] for u, r in plan if r == Role.USER and u.startswith("seed-")],
            "bench-customer": ids["bench-customer"],
        }

    @transaction.atomic
    def _reserve_numbers(self, per_year: Counter) -> dict[int, int]:
        """Move each year's counter past the tickets to load; return the first number of each year.

        The counter may lag behind numbers already in the table (tickets loaded by hand): start
        after whichever is larger.
        """
        first = {}
        for year, n in sorted(per_year.items()):
            TicketCounter.objects.get_or_create(year=year)
            counter = TicketCounter.objects.select_for_update().get(year=year)
            highest = (
                Ticket.objects.filter(number__startswith=f"INC-{year}-")
                .order_by("-number")
                .values_list("number", flat=True)
                .first()
            )
            start = max(counter.value, int(highest.rsplit("-", 1)[1]) if highest else 0)
            TicketCounter.objects.filter(year=year).update(value=start + n)
            first[year] = start + 1
        return first

    # Writing --------------------------------------------------------------------------------

    def _load_bulk_create(self, times, active_indexes, generator, numbering) -> int:
        entries = 0
        with transaction.atomic():
            for start in range(0, len(times), BATCH):
                tickets, timelines = [], []
                for i in range(start, min(start + BATCH, len(times))):
                    row, rows = generator.ticket(times[i], i in active_indexes)
                    values = dict(zip(TICKET_COLUMNS, _as_values(row, numbering), strict=True))
                    del values["id"]
                    tickets.append(Ticket(**values))
                    timelines.append(rows)
                Ticket.objects.bulk_create(tickets, batch_size=2000)
                objs = []
                for ticket, rows in zip(tickets, timelines, strict=True):
                    for row in rows:
                        values = dict(zip(ENTRY_COLUMNS, _as_values(row), strict=True))
                        values["ticket_id"] = ticket.pk
                        objs.append(TimelineEntry(**values))
                TimelineEntry.objects.bulk_create(objs, batch_size=2000)
                entries += len(objs)
                self._log(f"  {start + len(tickets):,} tickets")
        return entries

    def _load_postgresql(self, times, active_indexes, generator, numbering, options) -> int:
        entries = 0
        with transaction.atomic(), connection.cursor() as django_cursor:
            cursor = django_cursor.cursor  # the psycopg 3 cursor, for COPY
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            cursor.execute("SELECT count(*) FROM incidents_ticket")
            existing = cursor.fetchone()[0]
            rebuild = not options["keep_indexes"] and len(times) >= max(existing, 50_000)
            saved = _drop_secondary(cursor) if rebuild else []
            if rebuild:
                self._log("  dropped the secondary indexes and foreign keys; rebuilt after the load")
            ticket_sql = f"COPY incidents_ticket ({', '.join(TICKET_COLUMNS)}) FROM STDIN"
            entry_sql = f"COPY incidents_timelineentry ({', '.join(ENTRY_COLUMNS)}) FROM STDIN"
            loaded = time.monotonic()
            for start in range(0, len(times), BATCH):
                stop = min(start + BATCH, len(times))
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence('incidents_ticket', 'id')) FROM generate_series(1, %s)",
                    [stop - start],
                )
                ids = [row[0] for row in cursor.fetchall()]
                tickets, timeline = [], []
                for i, ticket_id in zip(range(start, stop), ids, strict=True):
                    row, rows = generator.ticket(times[i], i in active_indexes)
                    row[0] = ticket_id
                    tickets.append(_copy_line(row, numbering))
                    for entry in rows:
                        entry[0] = ticket_id
                        timeline.append(_copy_line(entry))
                with cursor.copy(ticket_sql) as copy:
                    copy.write("".join(tickets))
                with cursor.copy(entry_sql) as copy:
                    copy.write("".join(timeline))
                entries += len(timeline)
                if stop % 100_000 == 0 or stop == len(times):
                    self._log(f"  {stop:,} tickets, {entries:,} entries ({time.monotonic() - loaded:.0f}s)")
            if saved:
                rebuilt = time.monotonic()
                for statement in saved:
                    cursor.execute(statement)
                self._log(f"  rebuilt {len(saved)} indexes and foreign keys ({time.monotonic() - rebuilt:.0f}s)")
        if not options["no_vacuum"]:
            vacuumed = time.monotonic()
            with connection.cursor() as cursor:
                # Fresh statistics and a visibility map, like a desk autovacuum has been over.
                # VACUUM cannot run inside a transaction (a test's): ANALYZE alone then.
                command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
                cursor.execute(f"{command} incidents_ticket")
                cursor.execute(f"{command} incidents_timelineentry")
                cursor.execute("ANALYZE accounts_user; ANALYZE incidents_membership; ANALYZE incidents_application")
            self._log(f"  vacuumed and analysed ({time.monotonic() - vacuumed:.0f}s)")
        return entries


def _drop_secondary(cursor) -> list[str]:
    """Drop the two big tables' secondary indexes and foreign keys; return the SQL to rebuild them.

    The primary keys and the unique number stay (they are what makes a partial load safe).
    Foreign keys come back NOT VALID and are then validated: one join per key instead of
    one lookup per row.
    """
    tables = ("incidents_ticket", "incidents_timelineentry")
    cursor.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
        FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)
        """,
        [list(tables)],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary AND NOT i.indisunique
        """,
        [list(tables)],
    )
    indexes = cursor.fetchall()
    rebuild = []
    for table, name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition} NOT VALID')
        rebuild.append(f'ALTER TABLE {table} VALIDATE CONSTRAINT "{name}"')
    for name, definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
        rebuild.insert(0, definition)
    return rebuild


def _pick_active(count: int, active: int, rng) -> set[int]:
    """Which tickets are still active: mostly the recent ones, with a tail of old forgotten ones."""
    if active >= count:
        return set(range(count))
    chosen: set[int] = set()
    scale = max(active * 1.5, 1.0)
    while len(chosen) < active:
        if rng.random() < 0.9:
            index = count - 1 - int(rng.expovariate(1.0 / scale))
            if index < 0:
                continue
        else:
            index = rng.randrange(count)
        chosen.add(index)
    return chosen


def _year_boundaries(times):
    """The local calendar years the tickets fall in, and each year's first second."""
    if not times:
        return [], []
    tz = timezone.get_current_timezone()
    first = datetime.fromtimestamp(times[0], tz).year
    last = datetime.fromtimestamp(times[-1], tz).year
    years = list(range(first, last + 1))
    return years, [datetime(year, 1, 1, tzinfo=tz).timestamp() for year in years]


class Numbering:
    """INC-<year>-<6 digits> in the order tickets are written, from the reserved first numbers."""

    def __init__(self, first: dict[int, int], years, boundaries):
        self.next = dict(first)
        self.years = years
        self.boundaries = boundaries

    def number(self, created: float) -> str:
        year = self.years[bisect.bisect_right(self.boundaries, created) - 1]
        value = self.next[year]
        self.next[year] = value + 1
        return f"INC-{year}-{value:06d}"


def _stamp(ts):
    return datetime.fromtimestamp(ts, UTC)


class _Number:
    """Placeholder for the ticket number, drawn when the row is written (in creation order)."""


NUMBER = _Number()
CREATED_AT = TICKET_COLUMNS.index("created_at")


def _as_values(row, numbering=None) -> list:
    """A generator row as model field values: timestamps become datetimes, the number is drawn."""
    out = []
    for value in row:
        if isinstance(value, float):
            value = _stamp(value)
        elif value is NUMBER:
            value = numbering.number(row[CREATED_AT])
        out.append(value)
    return out


def _copy_line(row, numbering=None) -> str:
    """One line of COPY text format. Generated text never holds a tab, newline or backslash."""
    parts = []
    for value in row:
        if value is None:
            parts.append("\\N")
        elif isinstance(value, float):
            parts.append(_stamp(value).isoformat())
        elif value is NUMBER:
            parts.append(numbering.number(row[CREATED_AT]))
        else:
            parts.append(str(value))
    return "\t".join(parts) + "\n"


class TicketGenerator:
    """One ticket and its timeline, as the actions would have written them.

    Rows are lists in TICKET_COLUMNS / ENTRY_COLUMNS order (the ids left None); timestamps
    are floats (epoch seconds) until written, the number is the NUMBER placeholder.
    """

    def __init__(self, cast: Cast, rng, timeline_max: int, now: float):
        self.cast = cast
        self.rng = rng
        self.timeline_max = timeline_max
        self.now = now

    def _service(self):
        cast = self.cast
        return cast.services[bisect.bisect_left(cast.service_cum, self.rng.random() * cast.service_cum[-1])]

    def ticket(self, created: float, active: bool):
        rng, cast = self.rng, self.cast
        app_id, home, app_name = cast.applications[bisect.bisect_left(cast.app_cum, rng.random() * cast.app_cum[-1])]
        if rng.random() < 0.15:  # misrouted at intake, or the operator knew better
            home = self._service()
        gravity = rng.choice(GRAVITIES)
        criticality = rng.choice(CRITICALITIES)
        channel = rng.choice(CHANNELS)
        if rng.random() < (0.01 if active else 0.0002):
            reporter = cast.bench_customer
        else:
            reporter = cast.customers[int(len(cast.customers) * rng.random() ** 2)]  # a few call a lot
        operator = rng.choice(cast.operators)
        created_by = reporter if channel == Channel.PORTAL else operator
        if channel == Channel.ALERT:
            reporter = operator

        if rng.random() < 0.01 or (active and rng.random() < 0.03):
            n = self.timeline_max
        else:
            n = min(self.timeline_max, int(rng.expovariate(1 / 4.5)))
        if n == 1 and not active and self.timeline_max >= 2:
            n = 2  # created, then closed

        evolution = criticality == Criticality.EVOLUTION
        if active:
            # An open evolution request was accepted: that takes a status entry after "created".
            final = Status.PENDING_DECISION if evolution and (n == 1 or rng.random() < 0.6) else Status.OPEN
            end = self.now - rng.random() * min(self.now - created, 3600.0)
            closed_at = None
        else:
            final = Status.CLOSED
            closed_at = min(created + 60 + rng.expovariate(1 / (2 * 86400)), self.now - 1)
            end = closed_at
        declined = evolution and not active and rng.random() < 0.4

        status = Status.PENDING_DECISION if evolution else Status.OPEN
        service, assignee, time_spent, first_response = home, None, 0, None
        entries = []
        if n:
            stamps = sorted(created + rng.random() * (end - created) for _ in range(n - 1))
            stamps.insert(0, created)
            entries.append([None, Kind.CREATED, created_by, created, "", None, None, None, home, "", status, None])
            for at in stamps[1 : n - (0 if active else 1)]:
                tech = assignee or rng.choice(cast.techs[service])
                roll = rng.random()
                if status == Status.PENDING_DECISION:
                    if final != Status.PENDING_DECISION and not declined:
                        author = rng.choice(cast.managers)
                        entries.append(
                            [
                                None,
                                Kind.STATUS,
                                author,
                                at,
                                rng.choice(DECISIONS_ACCEPT),
                                None,
                                None,
                                None,
                                None,
                                status,
                                Status.OPEN,
                                None,
                            ]
                        )
                        status = Status.OPEN
                    else:
                        author = rng.choice((reporter, operator))
                        entries.append(
                            [None, Kind.COMMENT, author, at, rng.choice(COMMENTS), None, None, None, None, "", "", None]
                        )
                elif roll < 0.33:
                    author = rng.choice((tech, tech, reporter, operator))
                    entries.append(
                        [None, Kind.COMMENT, author, at, rng.choice(COMMENTS), None, None, None, None, "", "", None]
                    )
                elif roll < 0.7:
                    author, minutes = tech, min(24 * 60, 5 + int(rng.expovariate(1 / 40)))
                    time_spent += minutes
                    entries.append(
                        [
                            None,
                            Kind.INTERVENTION,
                            author,
                            at,
                            rng.choice(WORK),
                            max(created, at - rng.random() * 3600),
                            minutes,
                            None,
                            None,
                            "",
                            "",
                            None,
                        ]
                    )
                elif roll < 0.88 or len(cast.services) < 2:
                    author, assignee = tech, rng.choice(cast.techs[service])
                    entries.append([None, Kind.ASSIGNMENT, author, at, "", None, None, None, None, "", "", assignee])
                else:
                    target = service
                    while target == service:
                        target = self._service()
                    author = tech
                    entries.append(
                        [
                            None,
                            Kind.REROUTE,
                            author,
                            at,
                            rng.choice(REROUTES),
                            None,
                            None,
                            service,
                            target,
                            "",
                            "",
                            None,
                        ]
                    )
                    service, assignee = target, None
                if first_response is None and author != reporter:
                    first_response = at
            if not active:
                if status == Status.PENDING_DECISION:
                    closer, body = rng.choice(cast.managers), rng.choice(DECISIONS_DECLINE)
                else:
                    closer = assignee or rng.choice(cast.techs[service])
                    body, assignee = rng.choice(CLOSINGS), assignee or closer
                entries.append(
                    [None, Kind.STATUS, closer, closed_at, body, None, None, None, None, status, Status.CLOSED, None]
                )
                first_response = first_response or closed_at
        elif not active and not evolution:
            assignee = rng.choice(cast.techs[service])
        updated = entries[-1][3] if entries else (closed_at or created)
        row = [
            None,
            NUMBER,
            rng.choice(TITLES).format(app=app_name),
            " ".join(rng.sample(SENTENCES, rng.randint(1, 3))),
            app_id,
            service,
            reporter,
            created_by,
            assignee,
            gravity,
            criticality,
            int(priority_for(gravity, criticality)),
            final,
            channel,
            created,
            updated,
            first_response,
            closed_at,
            time_spent,
        ]
        return row, entries

"""Notifications benchmark: messages delivered per second, and how long after an event's
commit its e-mails reach the SMTP server.

    .venv/bin/python bench/notifications.py [--burst 2000] [--rate 50] [--seconds 20] [--recipients 2]

Standalone (bench/run.py is the desk's benchmark). On database `firebreak_bench_notifications`
of the server of BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432
(created if missing, migrated, its tickets and notifications emptied), with Redis at
REDIS_URL (default redis://127.0.0.1:6379/0) as broker, on a queue of its own:

1. An SMTP server (aiosmtpd) in this process records each message's arrival time and
   Message-ID; a Celery worker (2 processes, as `make run` starts it) sends to it.
2. Burst: with the worker frozen (SIGSTOP), --burst e-mails are queued (comments on a
   ticket with 20 watchers); the worker is thawed and timed until the last one arrives.
3. Steady: ticket comments through incidents.actions at --rate events per second for
   --seconds, each telling --recipients people (the reporter and watchers). For each
   e-mail: the delay from its event's commit (the first on_commit callback) to its
   arrival at the SMTP server; median and p95. Target: p95 under 2 s at 50 events/s.

Figures go to bench/results/notifications-<timestamp>.json and a table to the terminal;
the worker's log to bench/results/celery-notifications.log.
"""

import argparse
import json
import os
import platform
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
DATABASE = "firebreak_bench_notifications"
QUEUE = "firebreak-bench-notifications"
BURST_WATCHERS = 20
STEADY_TICKETS = 20  # comments spread over tickets, as on a desk (not one row everyone updates)
TARGET_P95_S = 2.0
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*<n(\d+)\.", re.IGNORECASE | re.MULTILINE)


def log(message=""):
    print(message, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_url() -> str:
    base = (
        os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/"
    )
    return urlunsplit(urlsplit(base)._replace(path=f"/{DATABASE}"))


def ensure_database(url: str) -> None:
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(server.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            log(f"  creating database {DATABASE}")
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(DATABASE)))


def percentile(values, share) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def summary(seconds: list[float]) -> dict:
    return {
        "median_s": round(statistics.median(seconds), 3) if seconds else None,
        "p95_s": round(percentile(seconds, 0.95), 3) if seconds else None,
        "max_s": round(max(seconds), 3) if seconds else None,
    }


class Arrivals:
    """The SMTP server's side: when each notification's e-mail arrived (by the row id in
    its Message-ID, <n{id}.{ticket}@host>), and how many arrived twice."""

    def __init__(self):
        self.lock = threading.Lock()
        self.at: dict[int, float] = {}
        self.repeated = 0
        self.arrived = threading.Condition(self.lock)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        now = time.time()
        found = MESSAGE_ID.search(envelope.original_content or envelope.content)
        with self.lock:
            if found:
                pk = int(found.group(1))
                if pk in self.at:
                    self.repeated += 1
                else:
                    self.at[pk] = now
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, ids, timeout) -> bool:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not all(pk in self.at for pk in ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(min(left, 1.0))
        return True


def start_worker(env, log_path, concurrency) -> subprocess.Popen:
    output = open(log_path, "w")  # noqa: SIM115 (the process holds it until the end)
    return subprocess.Popen(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            f"--concurrency={concurrency}",
            "-Q",
            QUEUE,
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            f"--hostname=bench-notifications-{os.getpid()}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGCONT)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children still alive, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for each in [pid, *Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]:
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine() -> dict:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return {
        "platform": platform.platform(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }


def git_commit() -> dict:
    def out(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()

    return {"commit": out("rev-parse", "HEAD"), "dirty": bool(out("status", "--porcelain"))}


class Desk:
    """Django in this process, on the bench's database and broker: the people, the
    tickets, and the comments (the events) through incidents.actions."""

    def __init__(self, recipients: int):
        from django.contrib.auth import get_user_model
        from django.db import connection

        from accounts.roles import Role, give_role
        from incidents import actions
        from incidents.models import Application, Membership, Service, Watcher

        self.actions = actions
        with connection.cursor() as cursor:  # the bench's own database: start from nothing
            cursor.execute("TRUNCATE notifications_notification, incidents_ticket CASCADE")
        users = get_user_model().objects

        def person(username, role, service=None):
            user, created = users.get_or_create(username=username, defaults={"email": f"{username}@bench.example"})
            if created:
                give_role(user, role)
            if service is not None:
                Membership.objects.get_or_create(user=user, service=service)
            return user

        service, _ = Service.objects.get_or_create(name="Bench notifications")
        application, _ = Application.objects.get_or_create(
            name="Bench mail platform", defaults={"default_service": service}
        )
        self.operator = person("bench-notify-operator", Role.OPERATOR)
        self.tech = person("bench-notify-tech", Role.TECHNICIAN, service)
        watchers = [
            person(f"bench-notify-watcher-{n:02d}", Role.TECHNICIAN, service)
            for n in range(max(BURST_WATCHERS, recipients - 1))
        ]
        reporter = person("bench-notify-reporter", Role.USER)

        def ticket(title, watching):
            # Low priority: managers are not told; opened by the operator for the reporter
            # (the CREATED e-mails go to the reporter and the service, before the runs).
            opened = actions.open_ticket(
                by=self.operator,
                reporter=reporter,
                application=application,
                service=service,
                title=title,
                description="Generated by bench/notifications.py.",
                gravity="minor",
                criticality="non_blocking",
                channel="phone",
            )
            Watcher.objects.bulk_create(Watcher(ticket=opened, user=w, added_by=self.operator) for w in watching)
            return opened

        self.burst_ticket = ticket("[bench] burst", watchers[:BURST_WATCHERS])
        self.steady_tickets = [ticket(f"[bench] steady {n}", watchers[: recipients - 1]) for n in range(STEADY_TICKETS)]
        with connection.cursor() as cursor:
            # Statistics, as autovacuum keeps them on a desk in use: a database just made
            # has none, and the planner guesses (with JIT on, its guesses for the
            # recipients query cost ~300 ms of compiling per comment).
            cursor.execute("ANALYZE")

    def comment(self, ticket, body) -> tuple[int, float, float, float]:
        """One event: (entry id, started, committed, returned), times from time.time()."""
        from django.db import transaction

        started = time.time()
        committed = []
        with transaction.atomic():
            transaction.on_commit(lambda: committed.append(time.time()))  # runs first: the commit itself
            entry = self.actions.add_comment(ticket, by=self.tech, body=body)
        return entry.pk, started, committed[0], time.time()

    def rows_of(self, entries) -> dict[int, int]:
        """{notification id: entry id} of these events."""
        from notifications.models import Notification

        return dict(Notification.objects.filter(entry_id__in=list(entries)).values_list("pk", "entry_id"))

    def unsent(self, ids) -> int:
        from notifications.models import Notification, State

        return Notification.objects.filter(pk__in=list(ids)).exclude(state=State.SENT).count()


def steady(desk: Desk, arrivals: Arrivals, *, rate: float, seconds: float, threads: int) -> dict:
    """Comments at `rate` per second for `seconds`, from `threads` threads sharing one
    schedule (event i is due at start + i / rate; a thread that falls behind goes at once)."""
    from django.db import close_old_connections

    total = int(rate * seconds)
    lock = threading.Lock()
    next_index = [0]
    events, late = [], []
    start = time.time() + 0.5

    def run():
        mine = []
        while True:
            with lock:
                index = next_index[0]
                next_index[0] += 1
            if index >= total:
                break
            due = start + index / rate
            wait = due - time.time()
            if wait > 0:
                time.sleep(wait)
            else:
                late.append(-wait)
            ticket = desk.steady_tickets[index % len(desk.steady_tickets)]
            mine.append(desk.comment(ticket, f"Steady event {index}."))
        with lock:
            events.extend(mine)
        close_old_connections()

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = max(e[3] for e in events) - start
    committed = {entry: at for entry, _started, at, _returned in events}
    rows = desk.rows_of(committed)
    drained = arrivals.wait_for(rows, timeout=120)
    with arrivals.lock:
        delays = [arrivals.at[pk] - committed[entry] for pk, entry in rows.items() if pk in arrivals.at]
    return {
        "events": len(events),
        "target_events_per_second": rate,
        "events_per_second": round(len(events) / elapsed, 1),
        "late_events": len(late),
        "messages": len(rows),
        "messages_per_second": round(len(rows) / elapsed, 1),
        "delivered": len(delays),
        "lost": 0 if drained else desk.unsent(rows),
        "commit_to_smtp": summary(delays),
        "action": summary([c - s for _e, s, c, _r in events]),  # the comment's transaction
        "enqueue_after_commit": summary([r - c for _e, _s, c, r in events]),  # publishing, in the request
    }


def burst(desk: Desk, arrivals: Arrivals, worker: subprocess.Popen, *, messages: int) -> dict:
    """`messages` e-mails queued while the worker is frozen, then timed until all arrive."""
    comments = max(1, messages // BURST_WATCHERS)
    cpu_before = cpu_seconds(worker.pid)
    os.killpg(worker.pid, signal.SIGSTOP)
    try:
        entries = [desk.comment(desk.burst_ticket, f"Burst {n}.")[0] for n in range(comments)]
    finally:
        resumed = time.time()
        os.killpg(worker.pid, signal.SIGCONT)
    rows = desk.rows_of(entries)
    drained = arrivals.wait_for(rows, timeout=600)
    with arrivals.lock:
        last = max(arrivals.at[pk] for pk in rows if pk in arrivals.at)
    seconds = last - resumed
    return {
        "messages": len(rows),
        "seconds": round(seconds, 2),
        "messages_per_second": round(len(rows) / seconds, 1),
        # Less noisy than a rate on a shared machine: what each e-mail costs the worker.
        "worker_cpu_ms_per_message": round((cpu_seconds(worker.pid) - cpu_before) * 1000 / len(rows), 2),
        "lost": 0 if drained else desk.unsent(rows),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--burst", type=int, default=2000, help="e-mails queued at once")
    parser.add_argument("--rate", type=float, default=50, help="events (comments) per second")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--recipients", type=int, default=2, help="e-mails per event")
    parser.add_argument("--threads", type=int, default=4, help="threads making the events")
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (`make run`: 2)")
    args = parser.parse_args()

    url = bench_url()
    log(f"== notifications bench: {DATABASE} ==")
    ensure_database(url)
    arrivals = Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=free_port())
    smtp.start()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_QUEUE": QUEUE,
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "FIREBREAK_VAR_DIR": tempfile.mkdtemp(prefix="firebreak-bench-notifications-"),
    }
    os.environ.update(env)  # this process is the desk too: same database, broker and queue
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from config.celery import app

    call_command("migrate", "--noinput", verbosity=0)
    app.control.purge()  # what an interrupted run left
    desk = Desk(args.recipients)
    RESULTS.mkdir(parents=True, exist_ok=True)
    worker = start_worker(env, RESULTS / "celery-notifications.log", args.concurrency)
    try:
        # The CREATED e-mails of the set-up, then a few events: the worker is up and warm.
        warm = [desk.comment(t, "Warm-up.")[0] for t in desk.steady_tickets[:5]]
        from notifications.models import Notification

        if not arrivals.wait_for(list(Notification.objects.values_list("pk", flat=True)), timeout=120):
            raise SystemExit("the worker did not deliver the warm-up; see bench/results/celery-notifications.log")
        del warm
        log(f"  burst: {args.burst} e-mails queued with the worker frozen ...")
        burst_result = burst(desk, arrivals, worker, messages=args.burst)
        log(f"  steady: {args.rate:g} events/s for {args.seconds:g} s, {args.recipients} e-mails each ...")
        steady_result = steady(desk, arrivals, rate=args.rate, seconds=args.seconds, threads=args.threads)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            postgresql = cursor.fetchone()[0]
    finally:
        stop(worker)
        smtp.stop()

    result = {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "git": git_commit(),
        "versions": {
            "python": platform.python_version(),
            "postgresql": postgresql,
            **{p: metadata.version(p) for p in ("django", "celery", "kombu", "redis", "psycopg", "aiosmtpd")},
        },
        "database": DATABASE,
        "broker": "redis",
        "worker": f"celery prefork, {args.concurrency} processes, prefetch 1, acks_late",
        "smtp": "aiosmtpd in the bench process",
        "repeated_messages": arrivals.repeated,
        "burst": burst_result,
        "steady": steady_result,
        "target_p95_s": TARGET_P95_S,
    }
    path = RESULTS / f"notifications-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")

    b, s = burst_result, steady_result
    delay = s["commit_to_smtp"]
    mark = "ok" if delay["p95_s"] is not None and delay["p95_s"] < TARGET_P95_S else "SLOW"
    log(
        f"\nPostgreSQL {postgresql}, Redis, Celery worker ({args.concurrency} processes), "
        "SMTP server in the bench process"
    )
    log(f"{'run':<8} {'e-mails':>8} {'e-mails/s':>10} {'events/s':>9} {'median':>8} {'p95':>8} {'max':>8} {'lost':>5}")
    log(
        f"{'burst':<8} {b['messages']:>8} {b['messages_per_second']:>10.1f} {'-':>9} {'-':>8} {'-':>8} {'-':>8} "
        f"{b['lost']:>5}  worker CPU {b['worker_cpu_ms_per_message']:.1f} ms per e-mail"
    )
    log(
        f"{'steady':<8} {s['messages']:>8} {s['messages_per_second']:>10.1f} {s['events_per_second']:>9.1f} "
        f"{delay['median_s']:>7.3f}s {delay['p95_s']:>7.3f}s {delay['max_s']:>7.3f}s {s['lost']:>5}  "
        f"commit to SMTP; target p95 < {TARGET_P95_S:g} s: {mark}"
    )
    log(
        f"Per event: the comment's transaction {s['action']['median_s'] * 1000:.1f} ms median, "
        f"{s['action']['p95_s'] * 1000:.1f} ms p95; queueing after commit "
        f"{s['enqueue_after_commit']['median_s'] * 1000:.1f} ms median, "
        f"{s['enqueue_after_commit']['p95_s'] * 1000:.1f} ms p95; {s['late_events']} events late; "
        f"{arrivals.repeated} e-mails received twice"
    )
    log(f"Written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

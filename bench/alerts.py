"""Monitoring alerts benchmark: what one web worker accepts, and how soon a ticket exists.

    .venv/bin/python bench/alerts.py [--seconds 20] [--clients 8] [--batches 10,1] [--probes 20]

Standalone (bench/run.py is the desk's benchmark). On database `firebreak_bench_alerts`
of the server of BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432
(created if missing, migrated, its alerts and tickets emptied), with Redis at REDIS_URL
(default redis://127.0.0.1:6379/0) as cache and broker, on a queue of its own:

1. gunicorn as production runs it (gthread, 4 threads, one worker, DEBUG off) and a Celery
   worker (2 processes), both on a free port / the bench queue.
2. For each batch size, two runs: --clients concurrent clients post Alertmanager webhooks
   (version 4, `batch` alerts each, over 50 fingerprints) for --seconds. Counted: alerts and
   requests answered 2xx per second, request latency, any other answer.
   - "intake": the Celery worker is paused (SIGSTOP) during the load, so the figure is what
     one web worker accepts; the burst waits in the queue and is drained afterwards.
   - "end-to-end": the worker processes meanwhile, on the same two cores; a probe posts an
     alert with a new fingerprint every half second and times how long until its ticket exists.
   Then: how long until the backlog is drained, and a check that every alert answered 2xx
   is stored.
3. With the system idle, --probes more probes one after the other: the delay until the
   ticket exists without a backlog.

Figures go to bench/results/alerts-<timestamp>.json and a table to the terminal.
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
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
DATABASE = "firebreak_bench_alerts"
QUEUE = "firebreak-bench-alerts"
FINGERPRINTS = [f"bench-{n:02d}" for n in range(50)]
TARGET_ALERTS_PER_SECOND = 500

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.db import connection
from accounts.roles import Role, give_role
from alerts import actions
from alerts.models import Integration, Kind
from incidents.models import Application, Membership, Service

with connection.cursor() as cursor:  # the bench's own database: start from no alerts and no tickets
    cursor.execute("TRUNCATE alerts_alert, alerts_alertgroup, incidents_ticket CASCADE")
service, _ = Service.objects.get_or_create(name="Bench operations")
application, _ = Application.objects.get_or_create(name="Bench platform", defaults={"default_service": service})
tech, created = get_user_model().objects.get_or_create(
    username="bench-alerts-tech", defaults={"email": "tech@bench.example"}
)
if created:
    give_role(tech, Role.TECHNICIAN)
Membership.objects.get_or_create(user=tech, service=service)
integration = Integration.objects.filter(name="bench-alertmanager").first()
if integration is None:
    integration = Integration(name="bench-alertmanager", kind=Kind.ALERTMANAGER, service=service,
                              application=application)
    credentials = actions.set_up_integration(integration)
else:
    credentials = actions.renew_credentials(integration)
# A limit far above the load: the rate-limit path (Redis) is measured, never refuses.
Integration.objects.filter(pk=integration.pk).update(rate_limit=100_000_000)
print(json.dumps({"id": integration.pk, "token": credentials.token}))
"""


def log(message=""):
    print(message, flush=True)


def conninfo(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def bench_url() -> str:
    base = (
        os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/"
    )
    return urlunsplit(urlsplit(base)._replace(path=f"/{DATABASE}"))


def ensure_database(url: str) -> None:
    server = urlunsplit(urlsplit(url)._replace(path="/postgres"))
    with psycopg.connect(conninfo(server), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            log(f"  creating database {DATABASE}")
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(DATABASE)))


def manage(env, *args) -> str:
    result = subprocess.run(  # noqa: S603
        [str(BIN / "python"), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"`manage.py {args[0]}` failed ({result.returncode})")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start(command, env, log_path) -> subprocess.Popen:
    output = open(log_path, "w")  # noqa: SIM115 (the process holds it until the end)
    return subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )


def pause(process: subprocess.Popen, paused: bool) -> None:
    """Freeze (or thaw) a process and its children: the Celery worker during intake-only runs."""
    os.killpg(process.pid, signal.SIGSTOP if paused else signal.SIGCONT)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def webhook(alerts: list[dict]) -> bytes:
    """An Alertmanager webhook (version 4) carrying `alerts`."""
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}/{}:{alertname="BenchAlert"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "firebreak",
            "groupLabels": {"alertname": "BenchAlert"},
            "commonLabels": {"alertname": "BenchAlert", "job": "bench"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.bench:9093",
            "alerts": alerts,
        }
    ).encode()


def alert(fingerprint: str, severity="critical") -> dict:
    return {
        "status": "firing",
        "labels": {"alertname": "BenchAlert", "instance": fingerprint, "job": "bench", "severity": severity},
        "annotations": {"summary": f"Bench alert on {fingerprint}", "description": "Generated by bench/alerts.py."},
        "startsAt": "2026-11-22T10:00:00.000000000Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.bench:9090/graph?g0.expr=up+%3D%3D+0",
        "fingerprint": fingerprint,
    }


def percentile(values, share) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


class Desk:
    def __init__(self, base: str, url: str, integration: dict):
        self.endpoint = f"{base}/alerts/alertmanager/{integration['id']}/"
        self.headers = {"Authorization": f"Bearer {integration['token']}", "Content-Type": "application/json"}
        self.db = psycopg.connect(conninfo(url), autocommit=True)
        self.probes = 0
        self.probes_accepted = 0

    def scalar(self, sql, params=()):
        return self.db.execute(sql, params).fetchone()[0]

    def probe(self, session: requests.Session, *, timeout=120.0) -> float | None:
        """Post one alert with a fingerprint never seen; seconds until its ticket exists."""
        self.probes += 1
        fingerprint = f"probe-{os.getpid()}-{self.probes}"
        started = time.perf_counter()
        response = session.post(self.endpoint, data=webhook([alert(fingerprint)]), headers=self.headers, timeout=30)
        if response.status_code // 100 != 2:
            return None
        self.probes_accepted += 1
        with psycopg.connect(self.db.info.dsn, autocommit=True) as conn:
            while time.perf_counter() - started < timeout:
                found = conn.execute(
                    "SELECT 1 FROM alerts_alertgroup WHERE fingerprint = %s AND ticket_id IS NOT NULL", [fingerprint]
                ).fetchone()
                if found:
                    return time.perf_counter() - started
                time.sleep(0.005)
        return None


def load(desk: Desk, *, clients: int, seconds: float, batch: int, probe: bool) -> dict:
    """`clients` threads post webhooks of `batch` alerts for `seconds`; with `probe`, a probe
    runs alongside (new fingerprints, timed until their ticket exists)."""
    stop_at = time.perf_counter() + seconds
    lock = threading.Lock()
    accepted = {"requests": 0, "alerts": 0}
    latencies, others, probe_delays = [], {}, []

    def client(seed):
        session = requests.Session()
        bodies = [
            webhook([alert(FINGERPRINTS[(seed * 7 + i * batch + j) % len(FINGERPRINTS)]) for j in range(batch)])
            for i in range(20)
        ]
        done, mine = 0, []
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            response = session.post(desk.endpoint, data=bodies[done % len(bodies)], headers=desk.headers, timeout=60)
            elapsed = time.perf_counter() - started
            done += 1
            with lock:
                if response.status_code // 100 == 2:
                    accepted["requests"] += 1
                    accepted["alerts"] += batch
                    mine.append(elapsed)
                else:
                    others[response.status_code] = others.get(response.status_code, 0) + 1
        with lock:
            latencies.extend(mine)

    def prober():
        session = requests.Session()
        while time.perf_counter() < stop_at - 0.5:
            delay = desk.probe(session, timeout=max(30.0, seconds * 3))
            probe_delays.append(delay)
            time.sleep(0.5)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    if probe:
        threads.append(threading.Thread(target=prober))
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    probes_ok = [d for d in probe_delays if d is not None]
    return {
        "batch": batch,
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": accepted["requests"],
        "alerts": accepted["alerts"],
        "alerts_per_second": round(accepted["alerts"] / elapsed, 1),
        "requests_per_second": round(accepted["requests"] / elapsed, 1),
        "request_median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "request_p95_ms": round(percentile(latencies, 0.95) * 1000, 1) if latencies else None,
        "not_2xx": others,
        "ticket_delay_under_load_median_s": round(statistics.median(probes_ok), 3) if probes_ok else None,
        "ticket_delay_under_load_p95_s": round(percentile(probes_ok, 0.95), 3) if probes_ok else None,
        "probes_lost": len(probe_delays) - len(probes_ok),
    }


def drain(desk: Desk, began: float, timeout=600) -> float:
    while time.perf_counter() - began < timeout:
        if not desk.scalar("SELECT count(*) FROM alerts_alert WHERE processed_at IS NULL"):
            return time.perf_counter() - began
        time.sleep(0.2)
    raise SystemExit("the worker did not process every alert in time")


def machine() -> dict:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    return {
        "platform": platform.platform(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "cores": os.cpu_count(),
    }


def git_commit() -> dict:
    def out(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607

    return {"commit": out("rev-parse", "HEAD"), "dirty": bool(out("status", "--porcelain"))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--batches", default="10,1", help="alerts per webhook, one run each")
    parser.add_argument("--probes", type=int, default=20, help="idle ticket-delay probes")
    args = parser.parse_args()

    url = bench_url()
    log(f"== alerts bench: {DATABASE} ==")
    ensure_database(url)
    workdir = Path(tempfile.mkdtemp(prefix="firebreak-bench-alerts-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        "CELERY_QUEUE": QUEUE,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        "FIREBREAK_VAR_DIR": str(workdir),
    }
    manage(env, "migrate", "--noinput", "-v", "0")
    integration = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    RESULTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    gunicorn = start(
        [str(BIN / "gunicorn"), "config.wsgi", "-k", "gthread", "--threads", "4", "-w", "1", "-b", f"127.0.0.1:{port}"],
        env,
        RESULTS / "gunicorn-alerts.log",
    )
    worker = start(
        [
            str(BIN / "celery"),
            "-A",
            "config",
            "worker",
            "--concurrency=2",
            "-Q",
            QUEUE,
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            f"--hostname=bench-alerts-{os.getpid()}@%h",
        ],
        env,
        RESULTS / "celery-alerts.log",
    )
    desk = Desk(base, url, integration)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(desk.endpoint, timeout=5).status_code == 405:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or gunicorn.poll() is not None:
                raise SystemExit("gunicorn did not start; see bench/results/gunicorn-alerts.log")
            time.sleep(0.3)
        warm = desk.probe(requests.Session(), timeout=60)  # also proves the worker is consuming
        if warm is None:
            raise SystemExit("the worker did not process the first alert; see bench/results/celery-alerts.log")

        runs = []
        batches = [int(b) for b in args.batches.split(",")]
        for batch, mode in [(batch, mode) for batch in batches for mode in ("intake", "end-to-end")]:
            stored_before = desk.scalar("SELECT count(*) FROM alerts_alert")
            probes_before = desk.probes_accepted
            log(f"  {mode}: {args.clients} clients, {batch} alert(s) per webhook, {args.seconds:.0f} s ...")
            if mode == "intake":
                pause(worker, True)  # the web worker alone: the burst waits in the queue
            began = time.perf_counter()
            try:
                run = load(desk, clients=args.clients, seconds=args.seconds, batch=batch, probe=mode != "intake")
            finally:
                pause(worker, False)
            run["mode"] = mode
            run["drained_after_s"] = round(drain(desk, began), 1)
            stored = desk.scalar("SELECT count(*) FROM alerts_alert") - stored_before
            run["stored"] = stored
            # Every alert answered 2xx (the load's and the probe's) must be in the table.
            run["lost"] = run["alerts"] + (desk.probes_accepted - probes_before) - stored
            run["open_groups_bench_fingerprints"] = desk.scalar(
                "SELECT count(*) FROM alerts_alertgroup WHERE is_open AND fingerprint LIKE 'bench-%%'"
            )
            runs.append(run)

        log(f"  {args.probes} probes on an idle desk ...")
        session = requests.Session()
        idle = [desk.probe(session) for _ in range(args.probes)]
        idle_ok = [d for d in idle if d is not None]
        rss = Path(f"/proc/{gunicorn.pid}/task/{gunicorn.pid}/children").read_text().split()
        status = Path(f"/proc/{rss[0]}/status").read_text() if rss else ""
        peak = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
        result = {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "git": git_commit(),
            "versions": {p: metadata.version(p) for p in ("django", "gunicorn", "psycopg", "celery", "redis")},
            "postgresql": desk.scalar("SHOW server_version"),
            "database": DATABASE,
            "web": "gunicorn gthread, 1 worker, 4 threads",
            "worker": "celery prefork, 2 processes",
            "runs": runs,
            "idle_ticket_delay_median_s": round(statistics.median(idle_ok), 3) if idle_ok else None,
            "idle_ticket_delay_p95_s": round(percentile(idle_ok, 0.95), 3) if idle_ok else None,
            "idle_probes_lost": len(idle) - len(idle_ok),
            "web_worker_peak_rss_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,
            "target_alerts_per_second": TARGET_ALERTS_PER_SECOND,
        }
    finally:
        stop(gunicorn)
        stop(worker)
        desk.db.close()

    path = RESULTS / f"alerts-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    log(
        f"\nOne web worker (gunicorn gthread x4), PostgreSQL {result['postgresql']}, Redis; "
        f"target {TARGET_ALERTS_PER_SECOND} alerts/s"
    )
    log(
        f"{'mode':<11} {'alerts/webhook':>14} {'alerts/s':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'other':>6} "
        f"{'drained':>8} {'lost':>5} {'ticket delay under load':>24}"
    )
    for run in runs:
        mark = "ok" if run["alerts_per_second"] >= TARGET_ALERTS_PER_SECOND else "BELOW"
        delay = (
            f"{run['ticket_delay_under_load_median_s']:.3f} / {run['ticket_delay_under_load_p95_s']:.3f} s"
            if run["ticket_delay_under_load_median_s"] is not None
            else "-"
        )
        log(
            f"{run['mode']:<11} {run['batch']:>14} {run['alerts_per_second']:>9.0f} {run['requests_per_second']:>7.0f} "
            f"{run['request_median_ms']:>7.1f} {run['request_p95_ms']:>7.1f} {sum(run['not_2xx'].values()):>6} "
            f"{run['drained_after_s']:>7.1f}s {run['lost']:>5} {delay:>24}  {mark}"
        )
    log(
        f"Ticket exists after (idle desk, {len(idle_ok)} probes): median {result['idle_ticket_delay_median_s']} s, "
        f"p95 {result['idle_ticket_delay_p95_s']} s; web worker peak RSS {result['web_worker_peak_rss_mb']} MB"
    )
    log(f"Written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

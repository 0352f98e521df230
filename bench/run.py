"""The desk's benchmark: real HTTP against gunicorn on PostgreSQL, at one or more sizes.

    .venv/bin/python bench/run.py --tickets 10000,1000000     # what `make bench` runs

For each size: a database named after it (firebreak_bench_10k, firebreak_bench_1m, on the
server of BENCH_DATABASE_URL, else DATABASE_URL, else postgres://postgres@127.0.0.1:5432/
firebreak_bench), created if missing, migrated, loaded with seed_load unless it already
holds exactly that many tickets (it is dropped and reloaded when the count differs),
collectstatic, then gunicorn as production runs it, on a free port. Four people log in
over HTTP (session + CSRF): bench-operator, bench-tech (largest service), bench-customer
and bench-manager. Each scenario gets a warm-up, then --requests timed requests one after
the other (median, p95); the SQL queries per request are counted in a separate process
(bench/probe.py); the ticket intake is also driven by --clients concurrent clients for
its throughput; the worker's peak RSS is read from /proc at the end.

Figures go to bench/results/<timestamp>.json and a table to the terminal. With several
sizes, a last table compares each scenario's p95 with the smallest size's.
"""

import argparse
import html
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/firebreak_bench"
PASSWORD = "firebreak-bench"  # noqa: S105 (seed_load's password of every generated account)
PEOPLE = {"operator": "bench-operator", "tech": "bench-tech", "customer": "bench-customer", "manager": "bench-manager"}

# Targets at 1M tickets (issue 4): p95 in milliseconds by kind of request.
TARGETS = {"list": 150, "search": 300, "ticket": 100, "post": 150}
RSS_TARGET_MB = 250


def log(message=""):
    print(message, flush=True)


def size_label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def database_url(base: str, n: int) -> str:
    """The base URL with the size appended to its database name: never the database people work in."""
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "firebreak_bench"
    return urlunsplit(parts._replace(path=f"/{name}_{size_label(n)}"))


def _server_url(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _conninfo(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


def ensure_database(url: str, *, recreate=False) -> None:
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_conninfo(_server_url(url)), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and recreate:
            log(f"  dropping {name}")
            conn.execute(psycopg.sql.SQL("DROP DATABASE {} WITH (FORCE)").format(psycopg.sql.Identifier(name)))
            exists = None
        if not exists:
            log(f"  creating database {name}")
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))


def database_note(url: str, note: dict | None = None) -> dict:
    """Read (or write) what the bench remembers about a database: its load, in a COMMENT."""
    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(_conninfo(url), autocommit=True) as conn:
        if note is not None:
            comment = json.dumps(note)
            conn.execute(
                psycopg.sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    psycopg.sql.Identifier(name), psycopg.sql.Literal(comment)
                )
            )
            return note
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    try:
        return json.loads(row[0]) if row and row[0] else {}
    except ValueError:
        return {}


def manage(env, *args, capture=False):
    command = [str(BIN / "python"), "manage.py", *args]
    result = subprocess.run(command, cwd=ROOT, env=env, text=True, capture_output=capture, check=False)  # noqa: S603
    if result.returncode:
        if capture:
            sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"`manage.py {' '.join(args)}` failed ({result.returncode})")
    return result.stdout if capture else None


def probe(env, command, payload=None, *, required=True) -> dict | None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out.json"
        args = [str(BIN / "python"), str(ROOT / "bench" / "probe.py"), command]
        if payload is not None:
            (Path(folder) / "in.json").write_text(json.dumps(payload))
            args.append(str(Path(folder) / "in.json"))
        result = subprocess.run([*args, str(out)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode:
            sys.stderr.write(result.stderr[-4000:])
            if required:
                raise SystemExit(f"bench/probe.py {command} failed")
            log(f"  WARNING: bench/probe.py {command} failed (above); its figures are left out")
            return None
        return json.loads(out.read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """gunicorn as production runs it: gthread, 4 threads, one worker, DEBUG off."""

    def __init__(self, env, log_path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop())
        command = [
            str(BIN / "gunicorn"),
            "config.wsgi",
            "-k",
            "gthread",
            "--threads",
            "4",
            "-w",
            "1",
            "-b",
            f"127.0.0.1:{self.port}",
            "--timeout",
            "120",
        ]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)  # noqa: S603

    def wait(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.process.returncode}); see {self.log.name}")
            try:
                if requests.get(f"{self.base}/accounts/login/", timeout=5).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise SystemExit("gunicorn did not answer in time")

    def worker_pid(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        if len(children) != 1:
            raise SystemExit(f"expected one gunicorn worker, found {children}")
        return int(children[0])

    def worker_memory(self) -> dict:
        status = Path(f"/proc/{self.worker_pid()}/status").read_text()
        values = dict(re.findall(r"^(VmHWM|VmRSS):\s+(\d+) kB", status, re.MULTILINE))
        return {"peak_rss_mb": round(int(values["VmHWM"]) / 1024, 1), "rss_mb": round(int(values["VmRSS"]) / 1024, 1)}

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


class Person:
    """One logged-in browser: a requests session with its cookies and CSRF token."""

    def __init__(self, base, username):
        self.base = base
        self.username = username
        self.session = requests.Session()
        self.session.get(f"{base}/accounts/login/", timeout=30).raise_for_status()
        response = self.session.post(
            f"{base}/accounts/login/",
            data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf},
            headers={"Referer": f"{base}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        if response.status_code != 302:
            raise SystemExit(f"{username} could not log in ({response.status_code})")

    @property
    def csrf(self):
        return self.session.cookies["csrftoken"]

    def get(self, path):
        response = self.session.get(self.base + path, timeout=60)
        if response.status_code != 200:
            raise SystemExit(f"GET {path} as {self.username}: {response.status_code}")
        return response

    def post(self, path, data):
        data = {**data, "csrfmiddlewaretoken": self.csrf}
        response = self.session.post(
            self.base + path, data=data, allow_redirects=False, timeout=60, headers={"Referer": self.base + path}
        )
        if response.status_code != 302:
            errors = re.findall(r'class="invalid-feedback[^"]*"[^>]*>(.*?)<', response.text)
            raise SystemExit(f"POST {path} as {self.username}: {response.status_code} {errors[:3]}")
        return response


def next_link(page_html: str) -> str | None:
    for tag in re.findall(r"<a\b[^>]*>", page_html):
        if 'rel="next"' in tag:
            match = re.search(r'href="([^"]+)"', tag)
            return html.unescape(match.group(1)) if match else None
    return None


def timed(call, warmup, count) -> list[float]:
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "n": len(samples),
        "median_ms": round(statistics.median(samples), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(ordered[-1], 1),
    }


def scenarios(target: dict, deep_path: str | None) -> list[dict]:
    """name, kind (target family), who, method and path; POST paths take {ticket}."""
    queue_filter = f"/tickets/?application={target['application']}&gravity={target['gravity']}"
    rows = [
        ("queue", "list", "tech", "/tickets/", "Technician's current tickets, page 1"),
        ("queue-deep", "list", "tech", deep_path, "  same, deep page (followed cursor links)"),
        ("queue-filtered", "list", "tech", queue_filter, "  same, filtered by application + gravity"),
        ("search-queue", "search", "tech", f"/tickets/?q={target['search_word']}", "Search, technician's tickets"),
        (
            "search-closed",
            "search",
            "operator",
            f"/tickets/closed/?q={target['rare_word']}",
            "Search closed history, no match",
        ),
        ("all-current", "list", "operator", "/tickets/", "Operator's current tickets (all)"),
        ("closed", "list", "operator", "/tickets/closed/", "Closed tickets (operator)"),
        (
            "closed-deep",
            "list",
            "operator",
            f"/tickets/closed/?gravity=minor&cursor={target['closed_deep_cursor']}",
            f"  same, gravity minor, page {target['closed_deep_page']:,} (cursor)",
        ),
        ("evolution", "list", "manager", "/tickets/evolution-requests/", "Evolution requests (manager)"),
        ("ticket-20", "ticket", "tech", f"/tickets/{target['full_ticket']}/", "Ticket page, 20 timeline entries"),
        ("customer-current", "list", "customer", "/tickets/", "Customer's own current tickets"),
        ("customer-closed", "list", "customer", "/tickets/closed/", "Customer's own closed tickets"),
    ]
    out = [
        {"name": name, "kind": kind, "who": who, "user": PEOPLE[who], "path": path, "label": label}
        for name, kind, who, path, label in rows
        if path
    ]
    intake = {
        "reporter": target["caller"],
        "application": target["intake_application"],
        "service": target["service"],
        "gravity": "minor",
        "criticality": "non_blocking",
        "title": "[bench] Intake timing",
        "description": "Created by the bench.",
        "channel": "phone",
    }
    out += [
        {
            "name": "create",
            "kind": "post",
            "who": "operator",
            "user": PEOPLE["operator"],
            "path": "/tickets/new/",
            "data": intake,
            "label": "Create a ticket (POST, operator)",
        },
        {
            "name": "comment",
            "kind": "post",
            "who": "tech",
            "user": PEOPLE["tech"],
            "path": "/tickets/{ticket}/comment/",
            "data": {"body": "Called the user back."},
            "label": "Add a comment (POST, technician)",
        },
        {
            "name": "reroute",
            "kind": "post",
            "who": "tech",
            "user": PEOPLE["tech"],
            "path": "/tickets/{ticket}/reroute/",
            "data": {
                "reroute-service": target["other_service"],
                "reroute-justification": "Not ours: the database locks.",
            },
            "label": "Re-route (POST, technician)",
        },
    ]
    return out


def run_size(n: int, args, base_url: str) -> dict:
    url = database_url(base_url, n)
    log(f"\n== {n:,} tickets: {urlsplit(url).path.lstrip('/')} ==")
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "false", "LOG_LEVEL": "WARNING", "AXES_ENABLED": "true"}
    ensure_database(url)
    manage(env, "migrate", "--noinput", "-v", "0")
    state = probe(env, "count")
    note = database_note(url)
    load_seconds = None
    wanted = {"tickets": n, "open": args.open, "seed": args.seed, "timeline_max": args.timeline_max}
    if state["tickets"] != n or any(note.get(k) != v for k, v in wanted.items()):
        if state["tickets"]:
            log(f"  holds {state['tickets']:,} tickets (or another seed_load setting): reloading")
            ensure_database(url, recreate=True)
            manage(env, "migrate", "--noinput", "-v", "0")
        log(f"  seed_load --tickets {n} --open {args.open} --seed {args.seed} --timeline-max {args.timeline_max}")
        started = time.monotonic()
        manage(
            env,
            "seed_load",
            "--tickets",
            str(n),
            "--open",
            str(args.open),
            "--seed",
            str(args.seed),
            "--timeline-max",
            str(args.timeline_max),
        )
        load_seconds = round(time.monotonic() - started, 1)
        note = database_note(url, {**wanted, "load_seconds": load_seconds, "loaded_at": datetime.now(UTC).isoformat()})
        state = probe(env, "count")
    else:
        log(f"  reusing the loaded database ({state['tickets']:,} tickets, loaded in {note.get('load_seconds')}s)")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    target = probe(env, "targets")

    RESULTS.mkdir(parents=True, exist_ok=True)
    server = Gunicorn(env, RESULTS / f"gunicorn-{size_label(n)}.log")
    try:
        server.wait()
        people = {who: Person(server.base, username) for who, username in PEOPLE.items()}
        # The deep page: follow the technician's "next" links, as a person paging would.
        deep_path, depth, path = None, 0, "/tickets/"
        while depth < args.deep:
            link = next_link(people["tech"].get(path).text)
            if not link:
                break
            path = "/tickets/" + link if link.startswith("?") else link
            deep_path, depth = path, depth + 1
        target["deep_page"] = depth + 1
        plan = scenarios(target, deep_path)
        results = {}
        for scenario in plan:
            if scenario["kind"] == "post":
                continue
            person = people[scenario["who"]]
            samples = timed(lambda p=person, s=scenario: p.get(s["path"]), args.warmup, args.requests)
            results[scenario["name"]] = summary(samples)
            log(f"  {scenario['name']:<18} p95 {results[scenario['name']]['p95_ms']:>7.1f} ms")

        # Writes: the intake makes the tickets the comments and re-routes then work on.
        made = []

        def create(person=people["operator"], data=plan[-3]["data"]):
            made.append(person.post("/tickets/new/", data).headers["Location"].rstrip("/").rsplit("/", 1)[1])

        results["create"] = summary(timed(create, args.warmup, args.requests))
        tickets = iter(list(made))
        comment, reroute = plan[-2], plan[-1]
        results["comment"] = summary(
            timed(
                lambda: people["tech"].post(comment["path"].replace("{ticket}", made[len(made) // 2]), comment["data"]),
                args.warmup,
                args.requests,
            )
        )
        results["reroute"] = summary(
            timed(
                lambda: people["tech"].post(reroute["path"].replace("{ticket}", next(tickets)), reroute["data"]),
                args.warmup,
                min(args.requests, len(made) - args.warmup),
            )
        )
        for name in ("create", "comment", "reroute"):
            log(f"  {name:<18} p95 {results[name]['p95_ms']:>7.1f} ms")

        throughput = intake_throughput(server.base, plan[-3]["data"], args.clients, args.throughput_requests)
        log(f"  intake throughput  {throughput['requests_per_second']} req/s with {args.clients} clients")
        memory = server.worker_memory()
    finally:
        server.stop()

    counts = (
        probe(
            env,
            "queries",
            {
                "targets": target,
                "scenarios": [{**s, "path": deep_path if s["name"] == "queue-deep" else s["path"]} for s in plan],
            },
            required=False,
        )
        or {}
    )
    probe(env, "cleanup")
    for scenario in plan:
        results[scenario["name"]].update(
            kind=scenario["kind"],
            label=scenario["label"],
            queries=counts.get(scenario["name"]),
            path=scenario["path"],
            user=scenario["user"],
        )
    return {
        "tickets": state["tickets"],
        "active_tickets": state["active"],
        "database": urlsplit(url).path.lstrip("/"),
        "load_seconds": load_seconds,
        "load_seconds_when_loaded": note.get("load_seconds"),
        "targets": target,
        "scenarios": results,
        "intake_throughput": throughput,
        "worker_memory": memory,
    }


def intake_throughput(base, data, clients, total) -> dict:
    """POST /tickets/new/ from `clients` threads at once, `total` requests in all."""
    people = [Person(base, PEOPLE["operator"]) for _ in range(clients)]
    counter = iter(range(total))
    lock = threading.Lock()
    samples = []

    def work(person):
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            started = time.perf_counter()
            person.post("/tickets/new/", data)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.append(elapsed)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(work, people))
    seconds = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": total,
        "seconds": round(seconds, 2),
        "requests_per_second": round(total / seconds, 1),
        **summary(samples),
    }


def machine() -> dict:
    cpu = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
    mem = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
    return {
        "platform": platform.platform(),
        "cpu": cpu.group(1) if cpu else platform.processor(),
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
    }


def versions(url) -> dict:
    with psycopg.connect(_conninfo(url)) as conn:
        server = conn.execute("SHOW server_version").fetchone()[0]
    out = {"python": platform.python_version(), "postgresql": server}
    for package in ("django", "gunicorn", "psycopg", "requests"):
        out[package] = metadata.version(package)
    return out


def git() -> dict:
    def out(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607

    return {"commit": out("rev-parse", "HEAD"), "dirty": bool(out("status", "--porcelain"))}


def print_table(result: dict) -> None:
    log(
        f"\n{result['tickets']:,} tickets ({result['active_tickets']:,} active; queue of bench-tech: "
        f"{result['targets']['queue_active']:,}) - {result['database']}"
    )
    log(f"{'scenario':<44} {'median':>8} {'p95':>8} {'queries':>8}  target")
    for row in result["scenarios"].values():
        goal = TARGETS[row["kind"]]
        mark = "ok" if row["p95_ms"] <= goal else "SLOW"
        queries = "-" if row["queries"] is None else row["queries"]
        log(f"{row['label']:<44} {row['median_ms']:>6.1f}ms {row['p95_ms']:>6.1f}ms {queries:>8}  <{goal} {mark}")
    t, m = result["intake_throughput"], result["worker_memory"]
    log(
        f"Intake throughput: {t['requests_per_second']} req/s with {t['clients']} clients "
        f"(p95 {t['p95_ms']} ms under load)"
    )
    log(f"Worker peak RSS (VmHWM): {m['peak_rss_mb']} MB (target <{RSS_TARGET_MB})")
    loaded = result["load_seconds"] or result["load_seconds_when_loaded"]
    log(f"seed_load: {loaded}s" + ("" if result["load_seconds"] else " (earlier run; database reused)"))


def print_comparison(sizes: list[dict]) -> None:
    small, *others = sorted(sizes, key=lambda r: r["tickets"])
    for big in others:
        log(f"\np95 at {big['tickets']:,} vs {small['tickets']:,} tickets (at most 1.5x)")
        for name, row in big["scenarios"].items():
            base = small["scenarios"][name]["p95_ms"]
            ratio = row["p95_ms"] / base if base else float("inf")
            log(
                f"{row['label']:<44} {base:>7.1f} -> {row['p95_ms']:>7.1f} ms  x{ratio:.2f}"
                f"{'' if ratio <= 1.5 else '  OVER'}"
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", default="10000,1000000", help="Sizes, comma-separated (10000,1000000).")
    parser.add_argument(
        "--open", type=int, default=3000, help="Active tickets at every size, so queues are comparable (3000)."
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--timeline-max", type=int, default=20)
    parser.add_argument("--requests", type=int, default=60, help="Timed requests per scenario (60).")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--deep", type=int, default=10, help="Next links followed for the deep page (10).")
    parser.add_argument("--clients", type=int, default=4, help="Concurrent clients for the intake throughput.")
    parser.add_argument("--throughput-requests", type=int, default=200)
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.tickets.split(",") if s.strip()]
    base_url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_URL
    if not base_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("The bench runs on PostgreSQL: set BENCH_DATABASE_URL to a postgres:// URL.")

    started = datetime.now(UTC)
    results = [run_size(n, args, base_url) for n in sizes]
    report = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": machine(),
        "versions": versions(database_url(base_url, sizes[0])),
        "git": git(),
        "settings": {k: v for k, v in vars(args).items() if k != "tickets"},
        "targets_ms": TARGETS,
        "sizes": results,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{started:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=2))
    for result in results:
        print_table(result)
    if len(results) > 1:
        print_comparison(results)
    log(f"\nFigures written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

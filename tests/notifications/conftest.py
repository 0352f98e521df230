"""Real infrastructure for delivery tests: an SMTP server in the test process (aiosmtpd),
Celery worker and beat processes on the configured broker (filesystem://, or Redis when
REDIS_URL is set) reading the test database, and a redis-server of the test's own."""

import email
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress
from email.policy import default as default_policy
from pathlib import Path

import pytest
import redis
from aiosmtpd.controller import Controller
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """What the SMTP server received, parsed; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        with self.lock:
            self.messages.append(message)
        return "250 OK"

    def snapshot(self):
        with self.lock:
            return list(self.messages)

    def message_ids(self) -> list[str]:
        """The Message-ID of every message received, repeats included."""
        return [m["Message-ID"] for m in self.snapshot()]


class SmtpServer:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
        logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs each SMTP command
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server(settings):
    server = SmtpServer()
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield server
    server.stop()


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Workers:
    """Celery worker (and beat) processes reading the test database and sending to
    `smtp_server`; each in a process group of its own, its output in a log under VAR_DIR."""

    def __init__(self, smtp, **env):
        self.smtp = smtp
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url(),
            "EMAIL_URL": smtp.url,
            "NOTIFICATIONS_RETRY_BASE": "1",
            "NOTIFICATIONS_STUCK_AFTER": "10",
            "NOTIFICATIONS_REQUEUE_AFTER": "5",
            "EMAIL_TIMEOUT": "5",
            **env,
        }
        self.processes = []
        self.log_paths = []

    def _spawn(self, name, *arguments):
        from django.conf import settings

        log_path = Path(settings.VAR_DIR) / "logs" / f"{name.split('@')[0]}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as output:
            process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", *arguments],
                cwd=ROOT,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        self.log_paths.append(log_path)
        return process

    def start(self, concurrency=2):
        from django.conf import settings

        name = f"w{len(self.processes)}-{os.getpid()}@localhost"
        process = self._spawn(
            name,
            "worker",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            f"--hostname={name}",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "--without-mingle",
            "--without-gossip",
        )
        self.wait_ready(name, process)
        return process

    def start_beat(self):
        """Celery beat as `make run` starts it: the database scheduler, which installs the
        notifications sweep every NOTIFICATIONS_SWEEP_EVERY seconds (set it in `env`)."""
        return self._spawn(f"beat{len(self.processes)}-{os.getpid()}", "beat", "--loglevel=WARNING")

    def logs(self, tail=3000) -> str:
        """The end of each process's output, for an assertion's message."""
        return "\n".join(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}" for path in self.log_paths)

    def wait_ready(self, name, process, timeout=60):
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, f"the Celery worker exited\n{self.logs()}"
            if app.control.ping(destination=[name], timeout=0.5):
                return
        raise AssertionError("the Celery worker did not answer")

    def kill(self, process):
        """SIGKILL the worker and its pool children: a crash, not a shutdown."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def pause(self, process, paused=True):
        """Freeze (or thaw) a worker and its pool children."""
        os.killpg(process.pid, signal.SIGSTOP if paused else signal.SIGCONT)

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)  # a paused worker cannot stop
                process.send_signal(signal.SIGTERM)  # the main PID only (STACK.md 3.1)
        for process in self.processes:
            # A warm shutdown takes a second or two; now and then a pool child waits
            # 30 s for its parent to read its last result (billiard's
            # _ensure_messages_consumed) while the parent waits for it: not worth waiting.
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
            with suppress(ProcessLookupError):  # a pool child its parent left behind
                os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def workers(smtp_server, transactional_db):
    """Workers on the test run's queue, emptied before and after: a message an earlier
    test left would name a row of this one (SQLite reuses the ids of a flushed table)."""
    from config.celery import app

    app.control.purge()
    pool = Workers(smtp_server)
    yield pool
    pool.stop_all()
    app.control.purge()


def wait_until(predicate, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


class RedisServer:
    """A redis-server of the test's own on a free port (never the machine's shared 6379),
    without persistence: stopping it loses what it held, as a crashed broker does."""

    def __init__(self, binary):
        self.binary = binary
        self.port = free_port()
        self.process = None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=20):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "redis-server exited"
            try:
                if client.ping():
                    return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not answer")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None


@pytest.fixture
def redis_server():
    """A private redis-server. CI has Redis (REDIS_URL set): a missing binary is a failure
    there; elsewhere the embedded default needs no Redis, so the test is skipped."""
    binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin:/usr/local/bin")
    if binary is None:
        if os.environ.get("REDIS_URL"):
            pytest.fail("REDIS_URL is set but there is no redis-server binary to start a private one")
        pytest.skip("no redis-server binary (install redis-server to run the broker-outage test)")
    server = RedisServer(binary)
    server.start()
    yield server
    server.stop()


@contextmanager
def celery_broker(url, transport_options):
    """Point this process's Celery app (what on_commit publishes to, what pings the
    workers) at another broker, then back. Celery and kombu cache connection and
    producer pools: they are closed and forgotten both ways."""
    from kombu import pools

    from config.celery import app
    from notifications import outbox

    def switch(to_url, to_options):
        pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app.conf.broker_url, app.conf.broker_transport_options = to_url, to_options
        outbox._broker_down_until = 0.0  # a pause after a failed publish was about the other broker

    saved = app.conf.broker_url, app.conf.broker_transport_options
    switch(url, transport_options)
    try:
        yield app
    finally:
        switch(*saved)

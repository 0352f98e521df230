"""Real infrastructure for delivery tests: an SMTP server in the test process (aiosmtpd)
and Celery worker processes on the configured broker (filesystem://, or Redis when
REDIS_URL is set), reading the test database."""

import email
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from email.policy import default as default_policy
from pathlib import Path

import pytest
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


class SmtpServer:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self):
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
    """Celery worker processes reading the test database and sending to `smtp_server`."""

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

    def start(self, concurrency=2):
        from django.conf import settings

        name = f"w{len(self.processes)}-{os.getpid()}@localhost"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--concurrency={concurrency}",
                "--loglevel=WARNING",
                f"--hostname={name}",
                "-Q",
                settings.CELERY_TASK_DEFAULT_QUEUE,
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes.append(process)
        self.wait_ready(name, process)
        return process

    def wait_ready(self, name, process, timeout=60):
        from config.celery import app

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert process.poll() is None, "the Celery worker exited"
            if app.control.ping(destination=[name], timeout=0.5):
                return
        raise AssertionError("the Celery worker did not answer")

    def kill(self, process):
        """SIGKILL the worker and its pool children: a crash, not a shutdown."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def stop_all(self):
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)  # the main PID only (STACK.md 3.1)
        for process in self.processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


@pytest.fixture
def workers(smtp_server, transactional_db):
    pool = Workers(smtp_server)
    yield pool
    pool.stop_all()


def wait_until(predicate, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False

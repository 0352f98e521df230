"""Integrations of each kind, a client that signs like each monitoring tool, and a Celery
worker for the storm (tests/notifications/conftest.py's, on the configured broker)."""

import json
import time

import pytest
from django.core.cache import cache
from django.db import close_old_connections
from django.test import Client
from django.urls import reverse

from alerts import actions, ratelimit
from alerts.credentials import sign
from alerts.models import Alert, Integration, Kind

from ..notifications.conftest import SmtpServer, Workers


@pytest.fixture
def make_integration(db, dev_service, intranet):
    """make_integration(kind, **fields) -> an integration with `.credentials` (shown once)."""
    made = []

    def make(kind=Kind.ALERTMANAGER, **fields):
        fields.setdefault("name", f"{kind} {len(made) + 1}")
        fields.setdefault("service", dev_service)
        fields.setdefault("application", intranet)
        integration = Integration(kind=kind, **fields)
        integration.credentials = actions.set_up_integration(integration)
        made.append(integration.pk)
        return integration

    yield make
    # The cache outlives the test's database rows (and SQLite reuses ids): forget their counters.
    window = int(time.time() // ratelimit.WINDOW)
    cache.delete_many(
        [
            ratelimit.key(name, pk, *suffix)
            for pk in made
            for name, suffix in [("rate", (window - 1,)), ("rate", (window,)), ("rate", (window + 1,))]
        ]
        + [ratelimit.key(name, pk) for pk in made for name in ("refused", "refused-flush")]
    )


@pytest.fixture
def alertmanager(make_integration):
    return make_integration(Kind.ALERTMANAGER, name="Prometheus")


def endpoint(integration) -> str:
    return reverse(f"alerts:receive-{integration.kind}", args=[integration.pk])


def signed_headers(integration, body: bytes, *, at=None) -> dict:
    """The headers each tool sends: a bearer token, or an HMAC signature with a timestamp."""
    at = str(int(time.time() if at is None else at))
    if integration.kind == Kind.GENERIC:
        return {
            "HTTP_X_FIREBREAK_TIMESTAMP": at,
            "HTTP_X_FIREBREAK_SIGNATURE": sign(integration.credentials.secret, at.encode() + b"." + body),
        }
    if integration.kind == Kind.GRAFANA:
        return {
            "HTTP_X_GRAFANA_ALERTING_TIMESTAMP": at,
            "HTTP_X_GRAFANA_ALERTING_SIGNATURE": sign(integration.credentials.secret, at.encode() + b":" + body),
        }
    return {"HTTP_AUTHORIZATION": f"Bearer {integration.credentials.token}"}


def post_alerts(client, integration, payload, *, headers=None):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        endpoint(integration),
        data=body,
        content_type="application/json",
        **(signed_headers(integration, body) if headers is None else headers),
    )


def process_all() -> int:
    """Run the workers' function until no alert waits (the storm test uses real workers)."""
    done = 0
    while ids := list(Alert.objects.filter(processed_at__isnull=True).values_list("pk", flat=True)[:2000]):
        done += actions.process_alerts(ids)
    return done


def in_threads(count, work, *, at_once):
    """Run work(i) for i in range(count) in `count` threads released together by a barrier;
    at most `at_once` of them use the database at the same time (a web server's workers).
    Returns the results and the exceptions raised."""
    import threading

    barrier = threading.Barrier(count)
    gate = threading.BoundedSemaphore(at_once)
    results, errors = [None] * count, []

    def run(i):
        try:
            barrier.wait(60)
            with gate:
                try:
                    results[i] = work(i)
                finally:
                    close_old_connections()
                    from django.db import connection

                    connection.close()
        except Exception as error:  # collected and asserted by the test
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results, errors


@pytest.fixture
def alert_workers(transactional_db):
    smtp = SmtpServer()
    smtp.start()
    pool = Workers(smtp)
    yield pool
    pool.stop_all()
    smtp.stop()


__all__ = ["Client", "endpoint", "in_threads", "post_alerts", "process_all", "signed_headers"]

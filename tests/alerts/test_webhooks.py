"""The webhooks: stored before 202, credentials of each source, rate limit, database down."""

import base64
import json
import socket
import time

import pytest
from django.db import connection

from alerts.models import Alert, AlertStatus, Integration, Kind

from .conftest import endpoint, post_alerts, signed_headers
from .samples import ALERTMANAGER, GENERIC, GRAFANA, am_alert, am_payload


def test_alertmanager_alerts_are_stored_with_their_payload_before_the_202(client, alertmanager):
    before = time.time()
    response = post_alerts(client, alertmanager, ALERTMANAGER)
    assert response.status_code == 202 and response.json() == {"stored": 2}
    firing, resolved = Alert.objects.order_by("id")
    assert (firing.fingerprint, firing.status) == ("5a1b2c3d4e5f6071", AlertStatus.FIRING)
    assert resolved.status == AlertStatus.RESOLVED
    assert firing.payload == ALERTMANAGER["alerts"][0] and firing.labels["instance"] == "web-1:8080"
    assert firing.received_at.timestamp() >= before - 1
    # Processing is the workers' job, after the answer.
    assert firing.processed_at is None and firing.group is None


def test_basic_auth_with_the_token_as_password_is_accepted(client, alertmanager):
    basic = base64.b64encode(f"alertmanager:{alertmanager.credentials.token}".encode()).decode()
    response = post_alerts(client, alertmanager, ALERTMANAGER, headers={"HTTP_AUTHORIZATION": f"Basic {basic}"})
    assert response.status_code == 202


def test_the_token_is_stored_only_as_a_digest(alertmanager):
    stored = Integration.objects.get(pk=alertmanager.pk)
    assert alertmanager.credentials.token not in (stored.token_hash, stored.hmac_secret)
    assert len(stored.token_hash) == 64 and stored.hmac_secret == ""


@pytest.mark.parametrize(
    ("kind", "headers", "status"),
    [
        (Kind.ALERTMANAGER, {}, 401),
        (Kind.ALERTMANAGER, {"HTTP_AUTHORIZATION": "Bearer fbk_wrong"}, 403),
        (Kind.ALERTMANAGER, {"HTTP_AUTHORIZATION": "Basic !!!"}, 403),
        (Kind.GRAFANA, {}, 401),
        (Kind.GRAFANA, {"HTTP_X_GRAFANA_ALERTING_SIGNATURE": "00" * 32}, 403),
        (Kind.GRAFANA, {"HTTP_AUTHORIZATION": "Bearer fbk_wrong"}, 403),
        (Kind.GENERIC, {}, 401),
        (Kind.GENERIC, {"HTTP_X_FIREBREAK_SIGNATURE": "00" * 32}, 401),  # no timestamp
        (Kind.GENERIC, {"HTTP_X_FIREBREAK_TIMESTAMP": "now", "HTTP_X_FIREBREAK_SIGNATURE": "00"}, 403),
    ],
)
def test_missing_credentials_are_401_and_wrong_ones_403(client, make_integration, kind, headers, status):
    integration = make_integration(kind)
    payload = GENERIC if kind == Kind.GENERIC else ALERTMANAGER
    response = post_alerts(client, integration, payload, headers=headers)
    assert response.status_code == status
    assert not Alert.objects.exists()


@pytest.mark.parametrize("kind", [Kind.GRAFANA, Kind.GENERIC])
def test_signatures_are_checked_over_timestamp_and_body(client, make_integration, kind):
    integration = make_integration(kind)
    payload = GRAFANA if kind == Kind.GRAFANA else GENERIC
    body = json.dumps(payload).encode()
    assert post_alerts(client, integration, body).status_code == 202
    # The same signature over another body, or a timestamp six minutes old, is refused.
    headers = signed_headers(integration, body)
    tampered = body.replace(b"firing", b"resolved", 1)
    assert post_alerts(client, integration, tampered, headers=headers).status_code == 403
    stale = signed_headers(integration, body, at=time.time() - 360)
    assert post_alerts(client, integration, body, headers=stale).status_code == 403
    assert Alert.objects.count() == 1


def test_grafana_signature_over_the_body_alone_and_grafana_bearer_token(client, make_integration):
    from alerts.credentials import sign

    grafana = make_integration(Kind.GRAFANA)
    body = json.dumps(GRAFANA).encode()
    signature = {"HTTP_X_GRAFANA_ALERTING_SIGNATURE": sign(grafana.credentials.secret, body)}
    assert post_alerts(client, grafana, body, headers=signature).status_code == 202
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {grafana.credentials.token}"}
    assert post_alerts(client, grafana, body, headers=bearer).status_code == 202


def test_an_integration_answers_only_at_its_own_kind_of_endpoint_and_while_active(client, alertmanager):
    body = json.dumps(ALERTMANAGER).encode()
    headers = signed_headers(alertmanager, body)
    wrong_kind = endpoint(alertmanager).replace("alertmanager", "grafana")
    assert client.post(wrong_kind, body, content_type="application/json", **headers).status_code == 404
    assert (
        client.post("/alerts/alertmanager/999999/", body, content_type="application/json", **headers).status_code == 404
    )
    Integration.objects.filter(pk=alertmanager.pk).update(is_active=False)
    assert post_alerts(client, alertmanager, body).status_code == 404
    assert client.get(endpoint(alertmanager)).status_code == 405


def test_unreadable_bodies_are_400_and_oversized_ones_413(client, alertmanager, settings):
    response = post_alerts(client, alertmanager, b'{"alerts": "none"}')
    assert response.status_code == 400 and response.json()["detail"]
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    assert post_alerts(client, alertmanager, ALERTMANAGER).status_code == 413
    assert not Alert.objects.exists()


def test_over_the_rate_limit_alerts_are_refused_429_and_counted(client, make_integration, operator):
    integration = make_integration(Kind.ALERTMANAGER, rate_limit=3)
    two = am_payload(am_alert("a"), am_alert("b"))
    assert post_alerts(client, integration, two).status_code == 202
    response = post_alerts(client, integration, two)
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert post_alerts(client, integration, am_payload(am_alert("c"))).status_code == 202  # still room for one
    assert Alert.objects.count() == 3
    # The first refusal of a window is written at once; later ones at most every 10 s.
    integration.refresh_from_db()
    assert integration.refused_count == 2
    assert post_alerts(client, integration, two).status_code == 429
    client.force_login(operator)
    page = client.get("/alerts/").content.decode()
    assert 'data-count="refused">4<' in page


def test_an_integration_without_limit_is_never_refused(client, make_integration):
    integration = make_integration(Kind.ALERTMANAGER, rate_limit=0)
    for _ in range(3):
        assert post_alerts(client, integration, am_payload(*(am_alert(f"fp{i}") for i in range(50)))).status_code == 202
    assert Alert.objects.count() == 150


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_database_down_answers_503_with_retry_after_within_a_second(client, alertmanager):
    """Alertmanager resends on 5xx: nothing is lost while the database is away."""
    body = json.dumps(ALERTMANAGER).encode()
    headers = signed_headers(alertmanager, body)
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent/firebreak/down.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        started = time.monotonic()
        response = client.post(endpoint(alertmanager), body, content_type="application/json", **headers)
        elapsed = time.monotonic() - started
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert elapsed < 1.0
    assert not Alert.objects.exists()
    assert post_alerts(client, alertmanager, body).status_code == 202  # and back

"""Each source's payload read into alerts: state, labels, fingerprint, start, raw payload."""

import json
from datetime import UTC, datetime

import pytest

from alerts.models import AlertStatus, Kind
from alerts.payloads import Invalid, parse, ticket_text

from .samples import ALERTMANAGER, GENERIC, GRAFANA


def body(data) -> bytes:
    return json.dumps(data).encode()


def test_alertmanager_v4_gives_each_alert_with_its_state_fingerprint_and_start():
    firing, resolved = parse(Kind.ALERTMANAGER, body(ALERTMANAGER))
    assert (firing.status, firing.fingerprint) == (AlertStatus.FIRING, "5a1b2c3d4e5f6071")
    assert (resolved.status, resolved.fingerprint) == (AlertStatus.RESOLVED, "6b2c3d4e5f607182")
    assert firing.labels["instance"] == "web-1:8080" and firing.labels["severity"] == "critical"
    assert firing.annotations["summary"] == "5% of requests fail on web-1"
    # Nanoseconds as Alertmanager writes them; the raw alert is kept as received.
    assert firing.starts_at == datetime(2026, 11, 22, 9, 58, 30, 123456, tzinfo=UTC)
    assert firing.payload == ALERTMANAGER["alerts"][0]


def test_grafana_unified_alerting_payload_is_read_like_alertmanager():
    (alert,) = parse(Kind.GRAFANA, body(GRAFANA))
    assert (alert.status, alert.fingerprint) == (AlertStatus.FIRING, "b3c1f0e2a9d87654")
    assert alert.labels["severity"] == "warning"
    assert alert.payload["dashboardURL"] == "https://grafana.example.com/d/infra-disks?orgId=1"


def test_generic_format_one_alert_or_a_list():
    (alert,) = parse(Kind.GENERIC, body(GENERIC))
    assert alert.fingerprint == "backup-nightly-db-1" and alert.status == AlertStatus.FIRING
    assert alert.labels == {"host": "db-1", "job": "backup", "severity": "critical"}
    assert alert.annotations == {
        "title": "Nightly backup of db-1 failed",
        "description": "pg_dump exited with status 1.",
        "url": "https://jobs.example.com/backup/1234",
    }
    assert alert.starts_at.isoformat() == "2026-11-22T03:00:00+01:00"
    resolved = {"fingerprint": "backup-nightly-db-1", "status": "resolved"}
    alerts = parse(Kind.GENERIC, body({"alerts": [GENERIC, resolved]}))
    assert [a.status for a in alerts] == ["firing", "resolved"]


@pytest.mark.parametrize(
    "data",
    [
        {"status": "firing"},  # a firing alert needs a title
        {"title": "x", "status": "burning"},
        {"title": "x", "labels": ["not", "an", "object"]},
        [1, 2],
    ],
)
def test_generic_alerts_that_cannot_be_read_are_refused(data):
    with pytest.raises(Invalid):
        parse(Kind.GENERIC, body(data))


@pytest.mark.parametrize("raw", [b"not json", b'{"alerts": "no"}', b'{"alerts": [1]}', b"\xff\xfe"])
def test_alertmanager_bodies_that_are_not_alerts_are_refused(raw):
    with pytest.raises(Invalid):
        parse(Kind.ALERTMANAGER, raw)


def test_configured_labels_make_the_fingerprint_instead_of_the_sources():
    first = {**ALERTMANAGER["alerts"][0], "fingerprint": "aaa"}
    second = {**ALERTMANAGER["alerts"][0], "fingerprint": "bbb", "labels": {**first["labels"], "pod": "x"}}
    keyed = parse(Kind.ALERTMANAGER, body({"alerts": [first, second]}), key_labels=["alertname", "instance"])
    assert keyed[0].fingerprint == keyed[1].fingerprint != "aaa"
    other = {**first, "labels": {**first["labels"], "instance": "web-9:8080"}}
    (different,) = parse(Kind.ALERTMANAGER, body({"alerts": [other]}), key_labels=["alertname", "instance"])
    assert different.fingerprint != keyed[0].fingerprint


def test_without_a_fingerprint_the_labels_identify_the_alert():
    alert = {key: value for key, value in ALERTMANAGER["alerts"][0].items() if key != "fingerprint"}
    one, two = parse(Kind.ALERTMANAGER, body({"alerts": [alert, {**alert, "annotations": {}}]}))
    assert one.fingerprint == two.fingerprint and one.fingerprint.startswith("l:")


def test_nul_characters_which_postgresql_refuses_are_removed():
    (alert,) = parse(Kind.GENERIC, body({**GENERIC, "title": "bad\u0000title", "labels": {"k\u0000": "v\u0000"}}))
    assert alert.annotations["title"] == "badtitle" and alert.labels["k"] == "v"


def test_ticket_text_names_the_alert_and_keeps_its_labels_and_links():
    (alert,) = parse(Kind.GRAFANA, body(GRAFANA))
    title, description = ticket_text(alert)
    assert title == "DiskAlmostFull: Disk / on db-1 is 92% full"
    assert description.startswith("Less than 8% left on /.")
    assert "instance=db-1" in description and "Dashboard: https://grafana.example.com/d/infra-disks" in description
    assert "Fingerprint: b3c1f0e2a9d87654" in description

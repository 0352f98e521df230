"""Payloads as the monitoring tools send them (Alertmanager webhook v4, Grafana unified alerting)."""

import copy

ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "firebreak",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "job": "intranet", "severity": "critical"},
    "commonAnnotations": {"runbook_url": "https://wiki.example.com/runbooks/high-error-rate"},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "instance": "web-1:8080",
                "job": "intranet",
                "severity": "critical",
            },
            "annotations": {
                "summary": "5% of requests fail on web-1",
                "description": "The 5xx rate of web-1 is above 5% for 10 minutes.",
            },
            "startsAt": "2026-11-22T09:58:30.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3Aerrors%3Arate5m+%3E+0.05",
            "fingerprint": "5a1b2c3d4e5f6071",
        },
        {
            "status": "resolved",
            "labels": {
                "alertname": "HighErrorRate",
                "instance": "web-2:8080",
                "job": "intranet",
                "severity": "critical",
            },
            "annotations": {"summary": "5% of requests fail on web-2"},
            "startsAt": "2026-11-22T09:40:00Z",
            "endsAt": "2026-11-22T09:55:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3Aerrors%3Arate5m+%3E+0.05",
            "fingerprint": "6b2c3d4e5f607182",
        },
    ],
}

GRAFANA = {
    "receiver": "firebreak",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "DiskAlmostFull",
                "grafana_folder": "Infra",
                "instance": "db-1",
                "severity": "warning",
            },
            "annotations": {"summary": "Disk / on db-1 is 92% full", "description": "Less than 8% left on /."},
            "startsAt": "2026-11-22T09:50:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/grafana/cdz1/view?orgId=1",
            "fingerprint": "b3c1f0e2a9d87654",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?alertmanager=grafana&matcher=instance%3Ddb-1",
            "dashboardURL": "https://grafana.example.com/d/infra-disks?orgId=1",
            "panelURL": "https://grafana.example.com/d/infra-disks?orgId=1&viewPanel=4",
            "values": {"B": 92.3, "C": 1},
            "valueString": "[ var='B' labels={instance=db-1} value=92.3 ], [ var='C' labels={instance=db-1} value=1 ]",
        }
    ],
    "groupLabels": {"alertname": "DiskAlmostFull", "grafana_folder": "Infra"},
    "commonLabels": {
        "alertname": "DiskAlmostFull",
        "grafana_folder": "Infra",
        "instance": "db-1",
        "severity": "warning",
    },
    "commonAnnotations": {"summary": "Disk / on db-1 is 92% full"},
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": '{}/{}:{alertname="DiskAlmostFull", grafana_folder="Infra"}',
    "truncatedAlerts": 0,
    "title": "[FIRING:1] DiskAlmostFull Infra (db-1 warning)",
    "state": "alerting",
    "message": "**Firing**\n\nValue: B=92.3, C=1\nLabels:\n - alertname = DiskAlmostFull\n",
}

GENERIC = {
    "fingerprint": "backup-nightly-db-1",
    "status": "firing",
    "severity": "critical",
    "title": "Nightly backup of db-1 failed",
    "description": "pg_dump exited with status 1.",
    "labels": {"host": "db-1", "job": "backup"},
    "starts_at": "2026-11-22T03:00:00+01:00",
    "url": "https://jobs.example.com/backup/1234",
}


def am_alert(fingerprint, status="firing", severity="critical", **labels):
    """One alert of an Alertmanager notification."""
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "severity": severity, "instance": fingerprint, **labels},
        "annotations": {"summary": f"Errors on {fingerprint}"},
        "startsAt": "2026-11-22T09:58:30Z",
        "endsAt": "2026-11-22T10:20:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.com:9090/graph",
        "fingerprint": fingerprint,
    }


def am_payload(*alerts):
    """An Alertmanager webhook (version 4) carrying `alerts`."""
    payload = copy.deepcopy(ALERTMANAGER)
    payload["alerts"] = list(alerts)
    payload["status"] = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return payload

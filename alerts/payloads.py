"""Reading the three webhook formats into one shape, and describing an alert for a ticket.

Pure functions, no database: `parse()` turns a request body into `Received` alerts (or
raises `Invalid`, answered 400); `ticket_text()` makes a ticket's title and description.

- Alertmanager (webhook payload version 4) and Grafana unified alerting share a shape:
  {"status", "alerts": [{"status", "labels", "annotations", "startsAt", "endsAt",
  "generatorURL", "fingerprint", ...}], "groupLabels", "commonLabels", ...}.
- The generic format is documented in alerts/README.md: one alert object, or
  {"alerts": [...]}, with fingerprint, status, severity, title, description, labels,
  starts_at and url.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .models import AlertStatus, Kind

FINGERPRINT_MAX = 128
TITLE_MAX = 200


class Invalid(ValueError):
    """A body we cannot read as alerts of this format; the message is sent back (400)."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass
class Received:
    fingerprint: str
    status: str
    labels: dict
    annotations: dict
    payload: dict
    starts_at: datetime | None = None


def _clean(value):
    """JSON as PostgreSQL's jsonb accepts it: no NUL characters in strings or keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _strings(value, name) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Invalid(_("%(name)s must be an object.") % {"name": name})
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}


def _moment(value) -> datetime | None:
    if not isinstance(value, str) or not value or value.startswith("0001-01-01"):
        return None
    try:
        return parse_datetime(value)
    except ValueError:
        return None


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:40]


def fingerprint_of(source: str | None, labels: dict, key_labels: list[str], fallback: str = "") -> str:
    """The configured labels' values if the integration names some, else the source's own
    fingerprint, else a digest of all the labels (or of `fallback` without labels)."""
    if key_labels:
        return "k:" + _digest({name: labels.get(name, "") for name in key_labels})
    if source:
        source = str(source).strip()
        return source if len(source) <= FINGERPRINT_MAX else "h:" + _digest(source)
    if labels:
        return "l:" + _digest(labels)
    return "t:" + _digest(fallback)


def _status(value, default=None) -> str:
    value = value if value is not None else default
    if value not in AlertStatus.values:
        raise Invalid(_("An alert's status must be firing or resolved."))
    return value


def _alertmanager_like(data, key_labels) -> list[Received]:
    if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
        raise Invalid(_("Expected an object with a list of alerts."))
    received = []
    for item in data["alerts"]:
        if not isinstance(item, dict):
            raise Invalid(_("Each alert must be an object."))
        labels = _strings(item.get("labels"), "labels")
        received.append(
            Received(
                fingerprint=fingerprint_of(item.get("fingerprint"), labels, key_labels),
                status=_status(item.get("status"), data.get("status")),
                labels=labels,
                annotations=_strings(item.get("annotations"), "annotations"),
                payload=item,
                starts_at=_moment(item.get("startsAt")),
            )
        )
    return received


def _generic(data, key_labels) -> list[Received]:
    if isinstance(data, dict) and isinstance(data.get("alerts"), list):
        items = data["alerts"]
    elif isinstance(data, dict):
        items = [data]
    else:
        raise Invalid(_("Expected an alert object or an object with a list of alerts."))
    received = []
    for item in items:
        if not isinstance(item, dict):
            raise Invalid(_("Each alert must be an object."))
        status = _status(item.get("status"), AlertStatus.FIRING)
        title = item.get("title")
        if status == AlertStatus.FIRING and not (isinstance(title, str) and title.strip()):
            raise Invalid(_("A firing alert needs a title."))
        labels = _strings(item.get("labels"), "labels")
        if isinstance(item.get("severity"), str) and item["severity"]:
            labels["severity"] = item["severity"]
        annotations = {name: item[name] for name in ("title", "description", "url") if isinstance(item.get(name), str)}
        received.append(
            Received(
                fingerprint=fingerprint_of(item.get("fingerprint"), labels, key_labels, fallback=title or ""),
                status=status,
                labels=labels,
                annotations=annotations,
                payload=item,
                starts_at=_moment(item.get("starts_at")),
            )
        )
    return received


def parse(kind: str, body: bytes, *, key_labels=()) -> list[Received]:
    """The alerts in `body`, sent in the `kind` format. Raises Invalid."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Invalid(_("The body is not JSON.")) from None
    data = _clean(data)
    key_labels = list(key_labels or ())
    if kind == Kind.GENERIC:
        return _generic(data, key_labels)
    return _alertmanager_like(data, key_labels)


def severity_of(labels: dict) -> str:
    return labels.get("severity") or labels.get("priority") or ""


def ticket_text(alert) -> tuple[str, str]:
    """(title, description) of the ticket an alert opens: the alert's name and summary,
    its description, labels, links and fingerprint."""
    labels, notes, payload = alert.labels, alert.annotations, alert.payload or {}
    name = labels.get("alertname", "")
    summary = notes.get("title") or notes.get("summary") or ""
    if summary and name and summary != name:
        title = f"{name}: {summary}"
    else:
        title = summary or name or _("Alert %(fingerprint)s") % {"fingerprint": alert.fingerprint}
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    lines = [notes.get("description") or notes.get("message") or summary or title, ""]
    if labels:
        lines.append(_("Labels:"))
        lines += [f"  {key}={value}" for key, value in sorted(labels.items())]
    for label, key in (
        (_("Source"), "generatorURL"),
        (_("Dashboard"), "dashboardURL"),
        (_("Panel"), "panelURL"),
        (_("Silence"), "silenceURL"),
    ):
        if isinstance(payload.get(key), str) and payload[key]:
            lines.append(f"{label}: {payload[key]}")
    if notes.get("url"):
        lines.append(f"{_('Link')}: {notes['url']}")
    lines.append(f"{_('Fingerprint')}: {alert.fingerprint}")
    return title, "\n".join(lines).strip()

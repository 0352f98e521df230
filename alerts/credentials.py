"""How each source proves it is the integration it claims to be (STACK.md 3.13).

- Alertmanager signs nothing: `Authorization: Bearer <token>` (its `http_config.authorization`),
  or HTTP Basic with the token as password (its `basic_auth`).
- Grafana: an HMAC-SHA256 hex digest in `X-Grafana-Alerting-Signature`, over
  `timestamp + ":" + body` when a timestamp header is configured (X-Grafana-Alerting-Timestamp),
  else over the body; or the bearer token as for Alertmanager.
- Generic: `X-Firebreak-Timestamp` (Unix seconds) and `X-Firebreak-Signature`, the hex
  HMAC-SHA256 of `f"{timestamp}.{body}"`.

Timestamps must be within FRESHNESS of our clock. Only the SHA-256 digest of a token is
stored; comparisons are constant-time (hmac.compare_digest).
"""

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .models import Kind

FRESHNESS = 300  # seconds either side of now
GRAFANA_SIGNATURE = "X-Grafana-Alerting-Signature"
GRAFANA_TIMESTAMPS = ("X-Grafana-Alerting-Timestamp", "X-Grafana-Alerting-Signature-Timestamp")
GENERIC_SIGNATURE = "X-Firebreak-Signature"
GENERIC_TIMESTAMP = "X-Firebreak-Timestamp"


class Unauthenticated(Exception):
    """No credentials at all (401)."""


class Rejected(Exception):
    """Credentials that do not match, or a stale timestamp (403)."""


@dataclass(frozen=True)
class Credentials:
    """What an administrator copies into the monitoring tool: shown once, never stored in clear
    (the token) or never shown again (the secret)."""

    token: str
    secret: str


def new_token() -> str:
    return "fbk_" + secrets.token_urlsafe(32)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _presented_token(headers) -> str | None:
    value = headers.get("Authorization", "")
    scheme, _sep, credentials = value.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    if scheme.lower() == "basic" and credentials.strip():
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except ValueError:
            raise Rejected(_("Unreadable basic credentials.")) from None
        return decoded.partition(":")[2] or None
    return None


def _check_token(integration, token: str) -> None:
    if not integration.token_hash or not hmac.compare_digest(token_digest(token), integration.token_hash):
        raise Rejected(_("Wrong token."))


def _check_fresh(timestamp: str, now: float) -> None:
    try:
        moment = int(timestamp.strip())
    except ValueError:
        raise Rejected(_("Unreadable timestamp.")) from None
    if abs(now - moment) > FRESHNESS:
        raise Rejected(_("The timestamp is more than five minutes away from now."))


def _check_signature(integration, signature: str, message: bytes) -> None:
    signature = signature.strip().lower().removeprefix("sha256=")
    if not integration.hmac_secret or not hmac.compare_digest(sign(integration.hmac_secret, message), signature):
        raise Rejected(_("Wrong signature."))


def check(integration, headers, body: bytes, *, now: float | None = None) -> None:
    """Accept the request as coming from `integration`, or raise Unauthenticated / Rejected."""
    now = time.time() if now is None else now
    if integration.kind == Kind.GENERIC:
        signature, timestamp = headers.get(GENERIC_SIGNATURE), headers.get(GENERIC_TIMESTAMP)
        if not signature or not timestamp:
            raise Unauthenticated(_("Sign the request with X-Firebreak-Timestamp and X-Firebreak-Signature."))
        _check_fresh(timestamp, now)
        _check_signature(integration, signature, timestamp.strip().encode() + b"." + body)
        return
    if integration.kind == Kind.GRAFANA and headers.get(GRAFANA_SIGNATURE):
        timestamp = next((headers[name] for name in GRAFANA_TIMESTAMPS if headers.get(name)), None)
        if timestamp is None:
            _check_signature(integration, headers[GRAFANA_SIGNATURE], body)
        else:
            _check_fresh(timestamp, now)
            _check_signature(integration, headers[GRAFANA_SIGNATURE], timestamp.strip().encode() + b":" + body)
        return
    token = _presented_token(headers)
    if token is None:
        raise Unauthenticated(_("Send the integration's token: Authorization: Bearer <token>."))
    _check_token(integration, token)

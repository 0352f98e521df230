"""Each integration's rate limit: alerts counted per one-minute window in the shared cache.

The cache is Redis when REDIS_URL is set, so every web process counts in one place
(STACK.md 3.9); without it, files under var/cache/ shared by the processes of one machine. A refusal is
counted in the cache too, never by a write per refused request: alerts/actions.py adds
the pending count to Integration.refused_count at most every FLUSH_EVERY seconds, and
on each sweep. If the cache itself fails, alerts are admitted (logged): a broken
counter must not lose alerts.

Keys carry the database's name, so desks (or test runs) sharing one Redis never mix.
"""

import logging
import math
import time

from django.core.cache import cache
from django.db import connection

log = logging.getLogger(__name__)

WINDOW = 60  # seconds
FLUSH_EVERY = 10  # seconds between two writes of the refused count, per integration


def key(*parts) -> str:
    return ":".join(["firebreak-alerts", str(connection.settings_dict["NAME"]), *map(str, parts)])


def admit(integration, count: int, *, now: float | None = None) -> int:
    """Count `count` alerts in this minute's window. 0 when admitted, else the seconds
    until the window ends (the refused alerts are not counted against it)."""
    if not integration.rate_limit or count <= 0:
        return 0
    now = time.time() if now is None else now
    window = int(now // WINDOW)
    name = key("rate", integration.pk, window)
    try:
        cache.add(name, 0, timeout=WINDOW * 2)
        total = cache.incr(name, count)
        if total <= integration.rate_limit:
            return 0
        cache.decr(name, count)
    except Exception:  # a cache that is down: Redis raises several kinds
        log.warning("rate-limit cache unavailable; integration %s admitted", integration.pk, exc_info=True)
        return 0
    return max(1, math.ceil((window + 1) * WINDOW - now))


def count_refused(integration_id: int, count: int) -> bool:
    """Add `count` refused alerts to the pending tally. True when it is time to write it
    to the database (at most every FLUSH_EVERY seconds for one integration)."""
    try:
        name = key("refused", integration_id)
        cache.add(name, 0, timeout=None)
        cache.incr(name, count)
    except Exception:
        log.warning("rate-limit cache unavailable; refusal of %d alerts not counted", count, exc_info=True)
        return False
    return claim_flush(integration_id)


def claim_flush(integration_id: int) -> bool:
    """True for one caller per FLUSH_EVERY seconds and integration: the one that writes."""
    try:
        return cache.add(key("refused-flush", integration_id), 1, timeout=FLUSH_EVERY)
    except Exception:
        return False


def pending_refused(integration_ids) -> dict[int, int]:
    """Refusals counted in the cache, not yet in the database."""
    ids = list(integration_ids)
    try:
        found = cache.get_many([key("refused", pk) for pk in ids])
    except Exception:
        return {}
    return {pk: found.get(key("refused", pk)) or 0 for pk in ids}


def take_refused(integration_id: int, count: int) -> None:
    """Remove `count` from the pending tally once the database holds them."""
    try:
        cache.decr(key("refused", integration_id), count)
    except Exception:
        log.warning("could not clear %d refusals of integration %s from the cache", count, integration_id)

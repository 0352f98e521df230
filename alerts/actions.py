"""Alerts in, tickets out: storing what monitoring sends, then turning it into tickets.

An alert's life: `receive_alerts` INSERTs it in the web request (the sender is answered
2xx only once this is committed) and, after commit, `wake` queues `alerts.process_waiting`
for its integration (unless a run is queued already and has not started); `process_alerts`
applies it to its group and stamps `processed_at`; `sweep` queues again
what a lost task or a broker outage left unprocessed. Nothing is lost between the two:
the row is the queue's source of truth, the broker message only a wake-up call.

State machine of an alert group (one integration, one fingerprint, one ticket):

    firing, no open group ──► OPEN/firing     open_ticket (channel "alert"): CREATED entry,
                                              notifications and paging like any intake
    OPEN/firing ── resolved ──► OPEN/resolved  comment "Recovered"
                            └─► CLOSED         close_on_resolve: the ticket is closed with it
    OPEN/resolved ── firing ──► OPEN/firing    comment "Firing again"
    OPEN, ticket closed by a person ──► CLOSED noticed at the next alert, which starts anew
    the same state again: count + 1 and last_seen, no timeline entry
    resolved, no open group: recorded, nothing opened

"One open group per fingerprint" is the database's partial unique index, not a check
made here: two workers creating the same group at once get one row and an IntegrityError,
and the loser carries on with the winner's group. Alerts of one fingerprint are applied
in arrival order under the group's row lock (SELECT ... FOR UPDATE on PostgreSQL; SQLite
runs one writing transaction at a time).
"""

import hashlib
import logging
import secrets
from contextlib import suppress
from datetime import timedelta
from functools import partial

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import BigIntegerField, Case, F, Q, Value, When
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from incidents import actions as desk
from incidents.models import Channel, Status

from . import payloads, ratelimit
from .credentials import Credentials, new_secret, new_token, token_digest
from .models import Alert, AlertGroup, AlertStatus, Integration, Kind

log = logging.getLogger(__name__)

TASK_SIZE = 500  # alert ids per `alerts.process` message
BATCH = 500  # alerts of one fingerprint applied per transaction
SWEEP_AFTER = timedelta(seconds=30)  # an alert still unprocessed this long after arrival is queued again
SWEEP_LIMIT = 20_000
WAKE_FLAG_TTL = 60  # seconds a queued wake-up call stands for its integration (a lost one: the sweep)
WAITING_LIMIT = 5_000  # alerts one `alerts.process_waiting` run takes; more queue another run


# Integrations -------------------------------------------------------------------------


def _credentials_for(integration: Integration) -> Credentials:
    token = new_token() if integration.kind in (Kind.ALERTMANAGER, Kind.GRAFANA) else ""
    secret = new_secret() if integration.kind in (Kind.GRAFANA, Kind.GENERIC) else ""
    integration.token_hash = token_digest(token) if token else ""
    integration.hmac_secret = secret
    return Credentials(token=token, secret=secret)


@transaction.atomic
def set_up_integration(integration: Integration) -> Credentials:
    """Save a new integration with fresh credentials, returned to be shown once.

    Without a chosen reporter account, one is created: named after the integration, with
    no password (it never logs in), no e-mail and no phone (it is never notified).
    """
    if not integration.bot_id:
        integration.bot = get_user_model().objects.create(
            username=f"monitoring-{slugify(integration.name)[:100] or 'source'}-{secrets.token_hex(3)}",
            first_name=integration.name[:150],
            password=make_password(None),  # unusable: the account never logs in
        )
    credentials = _credentials_for(integration)
    integration.save()
    return credentials


@transaction.atomic
def renew_credentials(integration: Integration) -> Credentials:
    """Replace the integration's token and secret; the old ones stop working at once."""
    credentials = _credentials_for(integration)
    integration.save(update_fields=["token_hash", "hmac_secret"])
    return credentials


# Intake (the web request) ---------------------------------------------------------------


def enqueue(ids) -> bool:
    """Wake the workers for these alerts; a broker that is down leaves them to the sweep."""
    from .tasks import process

    ids = list(ids)
    try:
        for start in range(0, len(ids), TASK_SIZE):
            process.apply_async((ids[start : start + TASK_SIZE],), retry=False)
    except Exception:  # the broker is unreachable: kombu raises several kinds
        log.warning("broker unavailable; alerts left to the sweep")
        return False
    return True


@transaction.atomic
def receive_alerts(integration: Integration, alerts: list[payloads.Received], *, now=None) -> list[int]:
    """Store received alerts, one INSERT for the batch, and queue their processing after
    commit. Returns their ids. The caller answers 2xx only after this returns."""
    now = now or timezone.now()
    rows = Alert.objects.bulk_create(
        [
            Alert(
                integration_id=integration.pk,
                fingerprint=alert.fingerprint,
                status=alert.status,
                labels=alert.labels,
                annotations=alert.annotations,
                payload=alert.payload,
                starts_at=alert.starts_at,
                received_at=now,
            )
            for alert in alerts
        ],
        batch_size=1000,
    )
    ids = [row.pk for row in rows]
    if ids:
        transaction.on_commit(partial(wake, integration))
    return ids


def _wake_key(integration: Integration) -> str:
    # The credentials' digest keeps two desks sharing one cache (or test databases sharing
    # one Redis) from reading each other's integration 1 as their own.
    salt = hashlib.sha256(f"{integration.token_hash}:{integration.hmac_secret}".encode()).hexdigest()[:16]
    return f"alerts:wake:{integration.pk}:{salt}"


def wake(integration: Integration) -> bool:
    """Queue the processing of the integration's waiting alerts, unless a run queued for it
    has not started yet: that run reads every alert waiting when it starts, these included
    (they were committed before this is called). A storm then queues one task per run, not
    one per request, so the alert that follows it does not wait behind thousands of tasks
    their predecessors had made pointless (19 s on the bench's idle desk)."""
    from .tasks import process_waiting

    key = _wake_key(integration)
    try:
        if not cache.add(key, 1, timeout=WAKE_FLAG_TTL):
            return True
    except Exception:  # a cache that is down: Redis raises several kinds; queue anyway
        log.warning("cache unavailable; a processing run queued for integration %s", integration.pk)
    try:
        process_waiting.apply_async((integration.pk,), retry=False)
    except Exception:  # the broker is unreachable: kombu raises several kinds
        log.warning("broker unavailable; alerts of integration %s left to the sweep", integration.pk)
        with suppress(Exception):
            cache.delete(key)
        return False
    return True


def refuse_alerts(integration: Integration, count: int) -> None:
    """Count alerts the rate limit refused. The tally lives in the cache and reaches
    Integration.refused_count at most every ratelimit.FLUSH_EVERY seconds (and on each
    sweep): a flood of refusals is not a flood of writes."""
    if ratelimit.count_refused(integration.pk, count):
        flush_refused(integration.pk)


def flush_refused(integration_id: int) -> int:
    """Add the refusals counted in the cache to the integration's refused_count."""
    pending = ratelimit.pending_refused([integration_id]).get(integration_id, 0)
    if not pending:
        return 0
    try:
        Integration.objects.filter(pk=integration_id).update(refused_count=F("refused_count") + pending)
    except DatabaseError:
        log.warning("could not record %d refused alerts of integration %s yet", pending, integration_id)
        return 0
    ratelimit.take_refused(integration_id, pending)
    log.warning("integration %s: %d alerts refused by its rate limit", integration_id, pending)
    return pending


# Processing (the workers) ---------------------------------------------------------------


def process_alerts(alert_ids, *, now=None) -> int:
    """Apply received alerts to their groups and tickets; returns how many were applied.

    Takes, for each fingerprint among `alert_ids`, every alert of that fingerprint still
    waiting, oldest first. Repeats and state changes of open groups (a storm's bulk) go
    in one transaction for all the fingerprints; a fingerprint that needs a new group and
    ticket goes through _process_fingerprint, one transaction each. Idempotent: processed
    alerts are skipped, so a task delivered twice (acks_late, the sweep) changes nothing
    more. A fingerprint that fails is left waiting (logged) for the sweep.
    """
    keys = _waiting_keys(Alert.objects.filter(pk__in=list(alert_ids)))
    integrations = Integration.objects.select_related("bot", "service", "application").in_bulk(
        {integration_id for integration_id, _fingerprint in keys}
    )
    done = 0
    while keys:
        try:
            taken, applied, opening = _apply_to_open_groups(keys, integrations, now=now)
        except Exception:
            log.warning("alerts of %d fingerprints: taken one fingerprint at a time", len(keys), exc_info=True)
            taken, applied, opening = 0, 0, keys
        done += applied
        for integration_id, fingerprint in sorted(opening):
            try:
                while (applied := _process_fingerprint(integrations[integration_id], fingerprint, now=now)) > 0:
                    done += applied
                    if applied < BATCH:
                        break
            except Exception:
                log.exception("alerts of integration %s, fingerprint %s left to the sweep", integration_id, fingerprint)
        # A full batch may have left more alerts of these fingerprints waiting.
        keys = _waiting_keys(Alert.objects.filter(_matching(keys))) if taken >= BATCH else set()
    return done


def process_waiting(integration_id: int, *, now=None) -> int:
    """Apply the integration's waiting alerts, oldest first (at most WAITING_LIMIT, then
    another run is queued). The wake-up flag is cleared first: alerts committed from here
    on queue a run of their own. Returns how many alerts were applied."""
    integration = Integration.objects.filter(pk=integration_id).first()
    if integration is None:
        return 0
    with suppress(Exception):  # a cache that is down: the flag expires by itself
        cache.delete(_wake_key(integration))
    waiting = Alert.objects.filter(integration_id=integration_id, processed_at__isnull=True)
    ids = list(waiting.order_by("pk").values_list("pk", flat=True)[:WAITING_LIMIT])
    done = process_alerts(ids, now=now) if ids else 0
    if len(ids) == WAITING_LIMIT:
        wake(integration)
    return done


def _waiting_keys(alerts) -> set[tuple[int, str]]:
    return set(alerts.filter(processed_at__isnull=True).values_list("integration_id", "fingerprint").distinct())


def _matching(keys) -> Q:
    """The rows of these (integration, fingerprint) pairs."""
    fingerprints: dict[int, list[str]] = {}
    for integration_id, fingerprint in keys:
        fingerprints.setdefault(integration_id, []).append(fingerprint)
    condition = Q(pk__in=[])
    for integration_id, names in fingerprints.items():
        condition |= Q(integration_id=integration_id, fingerprint__in=names)
    return condition


@transaction.atomic
def _apply_to_open_groups(keys, integrations, *, now=None) -> tuple[int, int, set]:
    """The waiting alerts of `keys` whose group is open, in one transaction: the groups are
    locked in (integration, fingerprint) order, so two workers never wait on each other in
    a cycle. Returns (alerts taken, alerts applied, fingerprints that need a new group)."""
    now = now or timezone.now()
    within = _matching(keys)
    groups, ended = {}, []
    for group in (
        AlertGroup.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .filter(within, is_open=True)
        .order_by("integration_id", "fingerprint")
    ):
        if group.ticket is not None and group.ticket.status == Status.CLOSED:
            ended.append(group.pk)  # closed by a person: the next firing alert starts anew
        else:
            groups[(group.integration_id, group.fingerprint)] = group
    if ended:
        AlertGroup.objects.filter(pk__in=ended).update(is_open=False, closed_at=now)
    pending = list(
        Alert.objects.select_for_update(skip_locked=True)
        .filter(within, processed_at__isnull=True)
        .order_by("id")[:BATCH]
    )
    applied: dict[int, tuple[AlertGroup, list[Alert]]] = {}
    unlinked, opening = [], set()
    for alert in pending:
        key = (alert.integration_id, alert.fingerprint)
        if key in opening:
            continue  # after a firing alert that needs a new group: left for _process_fingerprint
        group = groups.get(key)
        if group is None:
            if alert.status == AlertStatus.RESOLVED:
                unlinked.append(alert)  # recovery of something no longer followed
            else:
                opening.add(key)
            continue
        if alert.status != group.last_status:
            _change_state(integrations[alert.integration_id], group, alert.status, now)
        applied.setdefault(group.pk, (group, []))[1].append(alert)
        if not group.is_open:
            del groups[key]
    _record(applied, unlinked, now)
    return len(pending), sum(len(alerts) for _group, alerts in applied.values()) + len(unlinked), opening


@transaction.atomic
def _process_fingerprint(integration: Integration, fingerprint: str, *, now=None) -> int:
    """The waiting alerts of one fingerprint, oldest first, opening its group and ticket
    when a firing alert finds none."""
    now = now or timezone.now()
    group = _current_group(integration, fingerprint, now)
    pending = list(
        Alert.objects.select_for_update(skip_locked=True)
        .filter(integration=integration, fingerprint=fingerprint, processed_at__isnull=True)
        .order_by("id")[:BATCH]
    )
    applied: dict[int, tuple[AlertGroup, list[Alert]]] = {}
    unlinked = []
    for alert in pending:
        if group is None:
            if alert.status == AlertStatus.RESOLVED:
                unlinked.append(alert)
                continue
            group = _start_group(integration, alert, now)
        if alert.status != group.last_status:
            _change_state(integration, group, alert.status, now)
        applied.setdefault(group.pk, (group, []))[1].append(alert)
        if not group.is_open:
            group = None
    _record(applied, unlinked, now)
    return len(pending)


def _record(applied: dict, unlinked: list, now) -> None:
    """Count the repeats (one UPDATE for all the groups, no timeline entry) and mark the
    alerts processed, linked to their group (one UPDATE)."""
    if applied:
        for group, alerts in applied.values():
            group.last_seen = max(group.last_seen, *(alert.received_at for alert in alerts))
            group.count = F("count") + len(alerts)
        AlertGroup.objects.bulk_update(
            [group for group, _alerts in applied.values()], ["count", "last_seen", "last_status"]
        )
    links = [When(pk__in=[alert.pk for alert in alerts], then=Value(group.pk)) for group, alerts in applied.values()]
    ids = [alert.pk for _group, alerts in applied.values() for alert in alerts] + [alert.pk for alert in unlinked]
    if ids:
        Alert.objects.filter(pk__in=ids).update(
            processed_at=now, group_id=Case(*links, default=None, output_field=BigIntegerField())
        )


def _current_group(integration: Integration, fingerprint: str, now) -> AlertGroup | None:
    """The open group of this fingerprint, locked; None if there is none, or if a person
    closed its ticket (the group is closed then, so the next firing alert starts anew)."""
    group = (
        AlertGroup.objects.select_for_update(of=("self",))
        .select_related("ticket")
        .filter(integration=integration, fingerprint=fingerprint, is_open=True)
        .first()
    )
    if group is not None and group.ticket is not None and group.ticket.status == Status.CLOSED:
        AlertGroup.objects.filter(pk=group.pk).update(is_open=False, closed_at=now)
        return None
    return group


def _start_group(integration: Integration, alert: Alert, now, *, attempts: int = 3) -> AlertGroup:
    """Open a group and its ticket for a firing alert, or join the group another worker
    opened for the same fingerprint a moment ago (the partial unique index refused ours)."""
    title, description = payloads.ticket_text(alert)
    for _attempt in range(attempts):
        try:
            with transaction.atomic():
                group = AlertGroup.objects.create(
                    integration=integration,
                    fingerprint=alert.fingerprint,
                    title=title,
                    is_open=True,
                    last_status=AlertStatus.FIRING,
                    count=0,
                    first_seen=alert.received_at,
                    last_seen=alert.received_at,
                )
        except IntegrityError:
            existing = _current_group(integration, alert.fingerprint, now)
            if existing is not None:
                log.info("fingerprint %s: joined the group another worker opened", alert.fingerprint)
                return existing
            continue  # theirs was closed meanwhile: try to open ours again
        gravity, criticality = integration.ticket_fields_for(payloads.severity_of(alert.labels))
        group.ticket = desk.open_ticket(
            by=integration.bot,
            reporter=integration.bot,
            application=integration.application,
            service=integration.service,
            title=title,
            description=description,
            gravity=gravity,
            criticality=criticality,
            channel=Channel.ALERT,
        )
        AlertGroup.objects.filter(pk=group.pk).update(ticket=group.ticket)
        return group
    raise IntegrityError(f"no open group for {integration.pk}/{alert.fingerprint} after {attempts} attempts")


def _change_state(integration: Integration, group: AlertGroup, status: str, now) -> None:
    """Write the state change on the ticket's timeline (by the integration's account)."""
    group.last_status = status
    source = {"source": integration.name}
    try:
        if status == AlertStatus.FIRING:
            desk.add_comment(
                group.ticket,
                by=integration.bot,
                body=_("Firing again: %(source)s reports the alert firing again.") % source,
            )
        elif integration.close_on_resolve:
            with suppress(desk.Conflict):  # a person closed it meanwhile: the group ends all the same
                desk.close_ticket_on_recovery(
                    group.ticket,
                    by=integration.bot,
                    comment=_("Recovered: %(source)s reports the alert resolved. Closed automatically.") % source,
                )
            AlertGroup.objects.filter(pk=group.pk).update(is_open=False, closed_at=now)
            group.is_open = False
        else:
            desk.add_comment(
                group.ticket, by=integration.bot, body=_("Recovered: %(source)s reports the alert resolved.") % source
            )
    except desk.Refused as refusal:
        # e.g. the integration's account was changed and may no longer act on older tickets.
        log.warning("ticket %s: state %s not written: %s", group.ticket_id, status, refusal.message)


def sweep(*, now=None) -> int:
    """Queue again the alerts still unprocessed SWEEP_AFTER after arrival (a lost message,
    a broker that was down, a worker killed mid-task), and write the refusals counted in
    the cache. Runs on Celery beat; returns how many alerts were queued."""
    now = now or timezone.now()
    ids = list(
        Alert.objects.filter(processed_at__isnull=True, received_at__lt=now - SWEEP_AFTER)
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_LIMIT]
    )
    if ids:
        log.warning("%d alerts waiting for more than %s: queued again", len(ids), SWEEP_AFTER)
        enqueue(ids)
    for integration_id, pending in ratelimit.pending_refused(Integration.objects.values_list("pk", flat=True)).items():
        if pending and ratelimit.claim_flush(integration_id):
            flush_refused(integration_id)
    return len(ids)

"""The built-in mail receiver: an LMTP or SMTP server (aiosmtpd) for sites whose MTA hands
the service addresses' mail to Firebreak (Postfix `transport_maps` to `lmtp:inet:…`, Exim
`lmtp` transport, or a plain SMTP relay). `manage.py receive_mail` runs it.

It listens on loopback by default and has no authentication: the MTA in front of it
receives from the world, checks SPF/DKIM/DMARC and relays here.

Answers:
  RCPT  550 5.1.1 for an address no active mailbox has, so the MTA bounces at once.
  DATA  250 once the message's transaction has committed, whatever became of it (a
        refusal or a rejected sender is answered by a polite e-mail from the desk, so
        the MTA sends no bounce on top); 451 on any error (the database is down…),
        having changed nothing, so the MTA keeps the message and tries again.
        LMTP answers once per recipient (RFC 2033), each with the message's status.
"""

import logging

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from asgiref.sync import sync_to_async
from django.db import close_old_connections, connections

from .actions import mailbox_for, receive_message
from .models import Outcome, Via

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 50 * 1024 * 1024  # larger messages get 552 from aiosmtpd
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure, please try again later"


def _in_thread(function):
    """Run Django ORM work off the event loop, in a pool thread whose connections are
    closed afterwards (a long-lived thread would otherwise keep them forever)."""

    def run(*args, **kwargs):
        close_old_connections()
        try:
            return function(*args, **kwargs)
        finally:
            connections.close_all()

    return sync_to_async(run, thread_sensitive=False)


class IntakeHandler:
    """aiosmtpd handler: each message goes to intake.actions.receive_message."""

    def __init__(self, *, via: str):
        self.via = via

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        try:
            mailbox = await _in_thread(mailbox_for)([address])
        except Exception:
            log.exception("could not look up the mailbox of %s", address)
            return TEMPORARY_FAILURE
        if mailbox is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        # The final delivery adds Return-Path from the envelope (RFC 5321 4.4): an empty
        # one is how a bounce is recognised. aiosmtpd gives "MAIL FROM:<>" as "<>".
        mail_from = "" if envelope.mail_from in (None, "", "<>") else envelope.mail_from
        raw = f"Return-Path: <{mail_from}>\r\n".encode() + envelope.original_content
        try:
            record = await _in_thread(receive_message)(raw, recipients=list(envelope.rcpt_tos), via=self.via)
        except Exception:
            log.exception("could not process a message from %s", envelope.mail_from)
            status = TEMPORARY_FAILURE
        else:
            status = _status_of(record)
        if self.via == Via.LMTP:
            return "\r\n".join([status] * len(envelope.rcpt_tos))
        return status


def _status_of(record) -> str:
    if record is None:
        return "250 2.0.0 OK: already received"
    if record.outcome == Outcome.NO_MAILBOX:  # the mailbox was deactivated since RCPT
        return "550 5.1.1 No such mailbox here"
    return f"250 2.0.0 OK: {record.outcome}"


class LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


def make_receiver(*, host: str, port: int, lmtp: bool = False, max_size: int = DEFAULT_MAX_MESSAGE_BYTES):
    """A started-on-demand server thread: call .start() and .stop(). `port` must be a
    real port (aiosmtpd's start-up check connects to it, so 0 does not work)."""
    handler = IntakeHandler(via=Via.LMTP if lmtp else Via.SMTP)
    controller_class = LMTPController if lmtp else Controller
    return controller_class(
        handler, hostname=host, port=port, data_size_limit=max_size, ident="Firebreak intake", ready_timeout=10
    )

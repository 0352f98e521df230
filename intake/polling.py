"""Polling IMAP mailboxes (imap-tools), for sites that cannot hand mail to the receiver.

Each unseen message is fetched without marking it (BODY.PEEK), processed by
intake.actions.receive_message, and only then flagged \\Seen. A message whose
processing failed stays unseen and is tried again at the next poll; one processed but
not flagged (the connection dropped between the two) is recognised by its Message-ID
and changes nothing the second time. The mailbox should be Firebreak's alone: a person
reading it in a mail client marks messages seen before the desk gets them.
"""

import logging

from imap_tools import AND, MailBox, MailBoxStartTls, MailBoxUnencrypted

from .actions import receive_message
from .models import ImapSecurity, Mailbox, Via

log = logging.getLogger(__name__)

BATCH = 200  # messages per mailbox per poll; the rest wait for the next one
TIMEOUT = 30  # seconds, per IMAP command


class PollError(Exception):
    pass


def poll_mailboxes() -> int:
    """Poll every active mailbox that has IMAP settings; one failing does not stop the others."""
    processed = 0
    for mailbox in Mailbox.objects.filter(is_active=True).exclude(imap_host="").exclude(imap_user=""):
        try:
            processed += poll_mailbox(mailbox)
        except Exception:
            log.exception("could not poll the mailbox %s", mailbox)
    return processed


def poll_mailbox(mailbox: Mailbox) -> int:
    """Process the mailbox's unseen messages; returns how many were processed and marked seen."""
    processed = 0
    with _connect(mailbox) as box:
        for uid in box.uids(AND(seen=False))[:BATCH]:
            raw = _fetch(box, uid)
            if raw is None:  # expunged meanwhile
                continue
            try:
                receive_message(raw, recipients=[mailbox.address], via=Via.IMAP)
            except Exception:
                log.exception("could not process message %s of %s; it stays unseen", uid, mailbox)
                continue
            # STORE rather than box.flag(), which also EXPUNGEs the folder.
            status, _data = box.client.uid("STORE", uid, "+FLAGS", r"(\Seen)")
            if status != "OK":
                raise PollError(f"could not mark message {uid} of {mailbox} seen: {status}")
            processed += 1
    return processed


def _connect(mailbox: Mailbox):
    if mailbox.imap_security == ImapSecurity.SSL:
        box = MailBox(mailbox.imap_host, mailbox.imap_port or 993, timeout=TIMEOUT)
    elif mailbox.imap_security == ImapSecurity.STARTTLS:
        box = MailBoxStartTls(mailbox.imap_host, mailbox.imap_port or 143, timeout=TIMEOUT)
    else:
        box = MailBoxUnencrypted(mailbox.imap_host, mailbox.imap_port or 143, timeout=TIMEOUT)
    return box.login(mailbox.imap_user, mailbox.imap_password, initial_folder=mailbox.imap_folder or "INBOX")


def _fetch(box, uid: str) -> bytes | None:
    status, data = box.client.uid("FETCH", uid, "(BODY.PEEK[])")
    if status != "OK":
        raise PollError(f"could not fetch message {uid}: {status}")
    return next((item[1] for item in data if isinstance(item, tuple) and len(item) == 2), None)

"""What a received message is, from its headers alone: an auto-reply or a bounce, the
desk's own mail coming back, or a reply to one of the desk's tickets. Pure functions.

Firebreak's mail carries Message-IDs in its own domain (notifications.delivery:
`<n{id}.{number}@{domain}>` for each e-mail, `<{number}@{domain}>` as the thread id,
and `<intake-reply.{uuid}@{domain}>` for intake's polite replies), the header
X-Firebreak-Ticket, and the ticket number in the subject ("[INC-2026-000123] title").
"""

import re

from notifications.delivery import message_domain

from .models import Outcome
from .parsing import ParsedMessage, header

SUBJECT_NUMBER = re.compile(r"\[(INC-\d{4}-\d{6,})\]", re.IGNORECASE)
AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
AUTO_SUPPRESS = {"all", "oof", "autoreply"}  # Exchange marks its own automatic mail so
BOUNCE_SENDERS = {"mailer-daemon", "mailer_daemon", "mailerdaemon"}


def screen(parsed: ParsedMessage) -> tuple[str, str] | None:
    """(outcome, reason) for a message that must open or comment nothing, else None.

    Auto-replies and bounces never open tickets, so two desks (or a desk and an
    out-of-office) never answer each other forever (RFC 3834).
    """
    message = parsed.message
    if header(message, "X-Firebreak-Ticket"):
        return Outcome.IGNORED_LOOP, "carries X-Firebreak-Ticket: the desk's own notification"
    if parsed.has_message_id and is_own_id(parsed.message_id.strip("<>")):
        return Outcome.IGNORED_LOOP, f"the desk's own Message-ID {parsed.message_id}"

    auto_submitted = header(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return Outcome.IGNORED_AUTO, f"Auto-Submitted: {auto_submitted}"
    precedence = header(message, "Precedence").strip().lower()
    if precedence in AUTO_PRECEDENCE:
        return Outcome.IGNORED_AUTO, f"Precedence: {precedence}"
    for name in ("X-Autoreply", "X-Autorespond"):
        if header(message, name):
            return Outcome.IGNORED_AUTO, f"{name} header"
    suppress = {item.strip().lower() for item in header(message, "X-Auto-Response-Suppress").split(",")}
    if suppress & AUTO_SUPPRESS:
        return Outcome.IGNORED_AUTO, "X-Auto-Response-Suppress: " + ", ".join(sorted(suppress & AUTO_SUPPRESS))

    if header(message, "Return-Path").strip() == "<>":
        return Outcome.IGNORED_AUTO, "bounce: empty Return-Path"
    if message.get_content_type() == "multipart/report":
        return Outcome.IGNORED_AUTO, "report (delivery status or read receipt)"
    if parsed.sender.split("@")[0] in BOUNCE_SENDERS:
        return Outcome.IGNORED_AUTO, f"bounce from {parsed.sender}"
    if header(message, "X-Failed-Recipients"):
        return Outcome.IGNORED_AUTO, "bounce: X-Failed-Recipients"
    return None


def _own_id(value: str):
    """The ticket number in one of the desk's Message-IDs (lower case, no <>), or None."""
    domain = re.escape(message_domain().lower())
    return re.fullmatch(rf"(?:n\d+\.)?(inc-\d{{4}}-\d{{6,}})@{domain}", value)


def is_own_id(value: str) -> bool:
    return value.lower().endswith("@" + message_domain().lower())


def referenced_number(parsed: ParsedMessage) -> str | None:
    """The ticket a reply answers: from In-Reply-To/References to a Firebreak Message-ID,
    else from "[INC-YYYY-NNNNNN]" in the subject. The headers win: mail clients keep them
    when the subject is rewritten."""
    for value in parsed.references:
        if found := _own_id(value):
            return found.group(1).upper()
    if found := SUBJECT_NUMBER.search(parsed.subject):
        return found.group(1).upper()
    return None


REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fwd?|tr|aw|wg|sv|vs|ref|réf)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)


def ticket_title(subject: str) -> str:
    """A new ticket's title from a subject: without "Re:/Fwd:/TR:" nor other tickets' numbers."""
    title = SUBJECT_NUMBER.sub(" ", subject)
    title = REPLY_PREFIX.sub("", " ".join(title.split())).strip()
    return title if len(title) <= 200 else title[:199].rstrip() + "…"

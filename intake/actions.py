"""Turning a received e-mail into a ticket or a comment, exactly once.

What becomes of a message (InboundMessage.outcome), decided in this order:

    same Message-ID as an earlier message ─────────────► nothing: the first row stands
    the desk's own mail back, auto-reply, bounce ──────► ignored_loop / ignored_auto
    no active mailbox among the recipients ────────────► no_mailbox
    sender unknown (or inactive), policy "reject" ─────► rejected_unknown  + polite reply
    reply to a ticket the sender sees ─────────────────► comment_added     (incidents.actions.add_comment)
    anything else (sender known, or created by policy) ► ticket_created    (incidents.actions.open_ticket)
    refused by incidents.actions ──────────────────────► refused           + polite reply

A reply naming a ticket its sender may not see opens a new ticket, exactly as a new
message would: someone else's ticket is like a missing one (house rule), so the answer
never tells whether it exists.

One transaction per message holds the InboundMessage row (its unique Message-ID is the
dedupe), the account created, the ticket or comment with its attachments and its
notifications. A database error rolls all of it back and propagates, so the MTA (451)
or the IMAP poller (message left unseen) delivers it again later.
"""

import logging
import secrets
import uuid
from datetime import timedelta
from email.utils import parseaddr
from functools import partial

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.template.defaultfilters import filesizeformat
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.roles import Role, give_role
from incidents import actions as desk
from incidents.models import Channel, Criticality, Gravity, Ticket
from notifications.delivery import message_domain

from . import parsing, screening
from .models import InboundMessage, Mailbox, Outcome, UnknownSenderPolicy, Via

log = logging.getLogger(__name__)

REPLY_LIMIT = 3  # polite replies to one address per REPLY_WINDOW: a broken autoresponder cannot loop with us
REPLY_WINDOW = timedelta(hours=1)
NEW_TICKET_GRAVITY = Gravity.ANNOYING
NEW_TICKET_CRITICALITY = Criticality.NON_BLOCKING  # a technician reclassifies once they have read it


def receive_message(raw: bytes, *, recipients, via: str = Via.SMTP) -> InboundMessage | None:
    """Process one received message: open a ticket, add a comment, or record why not.

    `recipients` are the envelope recipients (LMTP/SMTP) or the polled mailbox's address
    (IMAP). Returns the InboundMessage row, or None when the Message-ID was already
    processed (a second delivery changes nothing). Raises on database errors, having
    changed nothing, so the caller asks for the message again.
    """
    parsed = parsing.parse_message(raw)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = InboundMessage.objects.create(
                    message_id=parsed.message_id, via=via, sender=parsed.sender[:254], subject=parsed.subject[:255]
                )
        except IntegrityError:
            # The unique Message-ID: another delivery of this message was processed (or is
            # being processed: PostgreSQL and SQLite make this INSERT wait for it to commit).
            log.info("message %s already received", parsed.message_id)
            return None
        _process(record, parsed, recipients)
        record.save(update_fields=["mailbox", "outcome", "ticket", "detail", "replied_at"])
    log.info("message %s from %s: %s %s", record.message_id, record.sender, record.outcome, record.detail)
    return record


def mailbox_for(recipients) -> Mailbox | None:
    """The active mailbox of the first recipient that has one (sub-addresses included:
    support+anything@ reaches support@)."""
    wanted = []
    for recipient in recipients:
        address = (parseaddr(recipient)[1] or recipient).strip().lower()
        local, _at, domain = address.partition("@")
        wanted.append(address)
        if "+" in local:
            wanted.append(f"{local.split('+')[0]}@{domain}")
    found = {
        box.lower_address: box
        for box in Mailbox.objects.filter(is_active=True)
        .annotate(lower_address=Lower("address"))
        .filter(lower_address__in=wanted)
        .select_related("service", "default_application")
    }
    return next((found[address] for address in wanted if address in found), None)


def _process(record: InboundMessage, parsed: parsing.ParsedMessage, recipients) -> None:
    if screened := screening.screen(parsed):
        record.outcome, record.detail = screened
        return
    mailbox = mailbox_for(recipients)
    if mailbox is None:
        record.outcome, record.detail = Outcome.NO_MAILBOX, "no active mailbox for " + ", ".join(recipients)
        return
    record.mailbox = mailbox
    if not parsed.sender:
        record.outcome, record.detail = Outcome.REFUSED, "no readable From address"
        return
    if _is_own_address(parsed.sender):
        record.outcome, record.detail = Outcome.IGNORED_LOOP, f"sent by the desk's own address {parsed.sender}"
        return

    users = get_user_model().objects.filter(email__iexact=parsed.sender)
    active = list(users.filter(is_active=True)[:2])
    if len(active) > 1:
        _refuse(record, parsed, mailbox, _("Several accounts use your address; an administrator must fix this."))
        return
    sender = active[0] if active else None
    if sender is None:
        inactive = users.exists()  # a disabled account never comes back through an e-mail
        if inactive or mailbox.unknown_sender_policy == UnknownSenderPolicy.REJECT:
            record.outcome = Outcome.REJECTED_UNKNOWN
            record.detail = "the sender's account is inactive" if inactive else "no account has this address"
            _reply(record, parsed, mailbox, "unknown_sender")
            return

    try:
        with transaction.atomic(), translation.override(getattr(sender, "language", "") or settings.LANGUAGE_CODE):
            created = sender is None
            if created:
                sender = _create_reporter(parsed)
            _file(record, parsed, mailbox, sender, created=created)
    except desk.Refused as refusal:
        record.ticket = None
        _refuse(record, parsed, mailbox, refusal.message, user=sender)


def _file(record: InboundMessage, parsed: parsing.ParsedMessage, mailbox: Mailbox, sender, *, created: bool) -> None:
    """Add the message to the ticket it answers, or open one with it."""
    files, notes = _within_limits(parsed.attachments)
    details = [f"reporter account {sender.username} created"] if created else []
    number = screening.referenced_number(parsed)
    ticket = Ticket.objects.visible_to(sender).filter(number=number).first() if number else None
    if ticket is not None:
        body = parsed.body or (_("Files sent by e-mail.") if files else "")
        desk.add_comment(ticket, by=sender, body=_with_notes(body, notes), files=files)
        record.outcome = Outcome.COMMENT_ADDED
    else:
        if number:
            details.append(f"{number} is not visible to the sender: opened a new ticket")
        title = screening.ticket_title(parsed.subject) or _("E-mail from %(sender)s") % {"sender": parsed.sender}
        ticket = desk.open_ticket(
            by=sender,
            reporter=sender,
            application=mailbox.default_application,
            service=mailbox.service,
            title=title,
            description=_with_notes(parsed.body or title, notes),
            gravity=NEW_TICKET_GRAVITY,
            criticality=NEW_TICKET_CRITICALITY,
            channel=Channel.EMAIL,
            files=files,
        )
        record.outcome = Outcome.TICKET_CREATED
    record.ticket = ticket
    record.detail = "\n".join(details + notes)


def _within_limits(files) -> tuple[list, list[str]]:
    """The attachments incidents.actions accepts, and a note for each one left out.

    A file too big (or one too many) does not cost the sender their ticket: the ticket
    opens with the others, and says which files were not kept and why (the sender, the
    technicians and InboundMessage.detail all read it). incidents.actions still enforces
    the same limits on what is passed to it.
    """
    kept, notes = [], []
    limit = filesizeformat(settings.ATTACHMENT_MAX_BYTES)
    for upload in files:
        if upload.size > settings.ATTACHMENT_MAX_BYTES:
            note = _("[Attachment “%(name)s” (%(size)s) was not kept: files are limited to %(limit)s.]")
        elif len(kept) >= settings.ATTACHMENT_MAX_COUNT:
            note = _("[Attachment “%(name)s” was not kept: at most %(count)d files per message.]")
        else:
            kept.append(upload)
            continue
        params = {"name": upload.name, "size": filesizeformat(upload.size), "limit": limit}
        notes.append(note % {**params, "count": settings.ATTACHMENT_MAX_COUNT})
    return kept, notes


def _with_notes(text: str, notes: list[str]) -> str:
    return "\n\n".join(part for part in [text.strip(), "\n".join(notes)] if part)


def _is_own_address(address: str) -> bool:
    ours = {parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower(), parseaddr(settings.SERVER_EMAIL)[1].lower()}
    return address in ours or Mailbox.objects.filter(address__iexact=address).exists()


def _create_reporter(parsed: parsing.ParsedMessage):
    """An account for an unknown sender (policy "create_reporter"): role User, which sees
    only the tickets it reports, and no password (a reset or an invitation gives one).

    Two messages from the same new address processed at once both try this username:
    the second fails on the unique username, its transaction rolls back and it is
    delivered again, to find the account.
    """
    User = get_user_model()
    username = parsed.sender[:150]
    if User.objects.filter(username__iexact=username).exists():  # someone else's name: keep both apart
        username = f"{parsed.sender[:140]}-{secrets.token_hex(4)}"
    first, _space, last = " ".join(parsed.sender_name.split()).partition(" ")
    user = User.objects.create(
        username=username,
        email=parsed.sender,
        first_name=first[:150],
        last_name=last[:150],
        password=make_password(None),
    )
    give_role(user, Role.USER)
    return user


def _refuse(record: InboundMessage, parsed: parsing.ParsedMessage, mailbox: Mailbox, reason: str, user=None) -> None:
    record.outcome, record.detail = Outcome.REFUSED, str(reason)
    _reply(record, parsed, mailbox, "refused", reason=reason, user=user)


def _reply(record: InboundMessage, parsed, mailbox: Mailbox, event: str, *, reason: str = "", user=None) -> None:
    """Tell the sender, once the transaction commits, why nothing was opened.

    The reply is marked Auto-Submitted: auto-replied (RFC 3834), so well-behaved systems
    never answer it, and no address gets more than REPLY_LIMIT of them per REPLY_WINDOW,
    so a badly-behaved one cannot keep a loop going either.
    """
    now = timezone.now()
    recent = InboundMessage.objects.filter(sender=record.sender, replied_at__gte=now - REPLY_WINDOW).count()
    if recent >= REPLY_LIMIT:
        record.detail += f"\nno reply: {recent} replies to this address in the last hour"
        return
    record.replied_at = now
    context = {
        "subject": parsed.subject,
        "address": mailbox.address,
        "service": mailbox.service,
        "reason": reason,
        "site_url": settings.SITE_URL.rstrip("/"),
    }
    with translation.override(getattr(user, "language", "") or settings.LANGUAGE_CODE):
        base = f"intake/email/{event}"
        context["LANGUAGE_CODE"] = translation.get_language()
        subject = " ".join(render_to_string(f"{base}_subject.txt", context).split())
        headers = {
            "Message-ID": f"<intake-reply.{uuid.uuid4().hex}@{message_domain()}>",
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
        }
        if parsed.has_message_id:
            headers["In-Reply-To"] = headers["References"] = parsed.message_id
        message = EmailMultiAlternatives(
            subject=subject, body=render_to_string(f"{base}_body.txt", context), to=[parsed.sender], headers=headers
        )
        message.attach_alternative(render_to_string(f"{base}_body.html", context), "text/html")
    transaction.on_commit(partial(_send, message, record.message_id))


def _send(message: EmailMultiAlternatives, about: str) -> None:
    try:
        message.send()
    except Exception as error:  # the message is processed either way; the reply is a courtesy
        log.warning("could not send the reply about %s: %r", about, error)

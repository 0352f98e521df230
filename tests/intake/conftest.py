"""Real mail servers for the intake tests: the desk's own receiver (intake.receiver) on a
free port, spoken to by smtplib over LMTP or SMTP, and a dovecot IMAP server run from a
temporary folder for the poller. Messages are built as a mail client would build them."""

import grp
import itertools
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from incidents.models import Ticket
from intake.models import ImapSecurity, Mailbox
from intake.receiver import make_receiver

from ..notifications.conftest import free_port

DESK_ADDRESS = "help@firebreak.test"
CLIENT_DOMAIN = "mail.example.com"  # where the senders' mail clients make their Message-IDs


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mailbox(net_service, intranet):
    """The network service's address. New tickets go to its queue, although their
    application (Intranet) belongs to the developers: the address decides."""
    return Mailbox.objects.create(service=net_service, address=DESK_ADDRESS, default_application=intranet)


def compose(
    sender,
    subject="The printer on floor 2 is on fire",
    body="Smoke is coming out of the paper tray.",
    *,
    to=DESK_ADDRESS,
    html=None,
    headers=None,
    attachments=(),
    message_id=None,
) -> EmailMessage:
    """An e-mail as a mail client sends it: `attachments` are (name, content type, bytes)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    if message_id != "":  # "": a client that sets none
        message["Message-ID"] = message_id or make_msgid(domain=CLIENT_DOMAIN)
    for name, value in (headers or {}).items():
        message[name] = value
    if body is not None:
        message.set_content(body)
    if html is not None:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for name, content_type, content in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return message


def as_bytes(message) -> bytes:
    return message if isinstance(message, bytes) else message.as_bytes(policy=SMTP)


@dataclass
class Reply:
    code: int
    text: str


class Receiver:
    """intake.receiver in a thread, and a client that delivers like an MTA does."""

    def __init__(self, *, lmtp: bool):
        self.lmtp = lmtp
        self.port = free_port()
        self.server = make_receiver(host="127.0.0.1", port=self.port, lmtp=lmtp)

    def connect(self):
        client_class = smtplib.LMTP if self.lmtp else smtplib.SMTP
        client = client_class("127.0.0.1", self.port, timeout=30)
        client.ehlo_or_helo_if_needed()  # LHLO over LMTP
        return client

    def rcpt(self, address, mail_from="someone@example.com") -> Reply:
        with self.connect() as client:
            client.mail(mail_from)
            return Reply(*_decoded(client.rcpt(address)))

    def deliver(self, message, *, mail_from=None, to=DESK_ADDRESS) -> Reply:
        """MAIL, RCPT, DATA; the answer to DATA (LMTP: for the one recipient)."""
        raw = as_bytes(message)
        if mail_from is None:
            mail_from = _envelope_sender(message)
        with self.connect() as client:
            code, text = _decoded(client.mail(mail_from))
            assert code == 250, text
            code, text = _decoded(client.rcpt(to))
            assert code == 250, text
            return Reply(*_decoded(client.data(raw)))


def _decoded(answer):
    code, text = answer
    return code, text.decode(errors="replace")


def _envelope_sender(message) -> str:
    return "someone@example.com" if isinstance(message, bytes) else parseaddr(str(message["From"]))[1]


@pytest.fixture
def lmtp_receiver():
    yield from _running(lmtp=True)


@pytest.fixture(params=["lmtp", "smtp"])
def receiver(request):
    """The receiver in both of its modes: a site's MTA hands mail over by LMTP or SMTP."""
    yield from _running(lmtp=request.param == "lmtp")


def _running(*, lmtp):
    receiver = Receiver(lmtp=lmtp)
    receiver.server.start()
    yield receiver
    receiver.server.stop()


# IMAP: dovecot -----------------------------------------------------------------------------

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
ACCOUNTS = 50  # IMAP tests in one session

DOVECOT_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = firebreak-test-{port}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
disable_plaintext_auth = no
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = 1
mail_location = maildir:{mail}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
  override_fields = uid={mail_uid} gid={mail_gid} home={mail}/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{login_extra}}}
{extra}
"""


class Dovecot:
    """A dovecot of its own: configuration, sockets, state, log and passwd-file in `root`.

    As root, dovecot drops privileges: logins run as dovenull, mail access as the
    `dovecot` user (it refuses uid 0 for mail), which cannot enter pytest's private
    temporary folders, so the Maildirs live in a folder of their own made for it.
    Without root, everything runs as the current user under `root`.
    """

    password = "imap-secret"

    def __init__(self, root: Path):
        self.root = root
        self.accounts = itertools.count(1)
        self.port = free_port()
        self.users = root / "users"
        self.log = root / "dovecot.log"
        self.process = None
        if os.geteuid() == 0:
            internal = pwd.getpwnam("dovecot")
            self.mail = Path(tempfile.mkdtemp(prefix="firebreak-maildir-"))
            self.mail.chmod(0o711)
            os.chown(self.mail, internal.pw_uid, internal.pw_gid)
            users = {"internal_user": "dovecot", "internal_group": "dovecot", "login_user": "dovenull"}
            mail_ids = {"mail_uid": internal.pw_uid, "mail_gid": internal.pw_gid}
            extra = "service auth {\n  user = root\n}\n"  # it reads the passwd-file in root's temp folder
            login_extra = ""
        else:
            me = pwd.getpwuid(os.getuid())
            self.mail = root / "mail"
            self.mail.mkdir()
            group = grp.getgrgid(me.pw_gid).gr_name
            users = {"internal_user": me.pw_name, "internal_group": group, "login_user": me.pw_name}
            mail_ids = {"mail_uid": me.pw_uid, "mail_gid": me.pw_gid}
            extra = "service anvil {\n  chroot =\n}\n"  # only root may chroot
            login_extra = "  chroot =\n"
        # One account per test, written now: dovecot re-reads a changed passwd-file at most
        # once a second, so an account added during the run may not log in yet.
        self.users.write_text("".join(f"desk{n}:{{PLAIN}}{self.password}::::::\n" for n in range(1, ACCOUNTS + 1)))
        self.conf = root / "dovecot.conf"
        self.conf.write_text(
            DOVECOT_CONF.format(
                root=root, mail=self.mail, port=self.port, extra=extra, login_extra=login_extra, **users, **mail_ids
            )
        )

    def start(self):
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"dovecot exited: {self.process.stderr.read().decode()}\n{self.read_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"dovecot did not answer on port {self.port}\n{self.read_log()}")

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if not self.mail.is_relative_to(self.root):
            shutil.rmtree(self.mail, ignore_errors=True)

    def read_log(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def account(self) -> str:
        number = next(self.accounts)
        assert number <= ACCOUNTS, "raise ACCOUNTS in tests/intake/conftest.py"
        return f"desk{number}"


@pytest.fixture(scope="session")
def dovecot(tmp_path_factory):
    """A running dovecot for the session; each test gets an account of its own."""
    assert Path(DOVECOT).exists(), "dovecot is missing: apt-get install -y dovecot-imapd (.ci/run installs it)"
    server = Dovecot(tmp_path_factory.mktemp("dovecot"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def imap_mailbox(dovecot, mailbox):
    """The desk's mailbox, polled over IMAP from an account of its own on dovecot."""
    mailbox.imap_host, mailbox.imap_port = "127.0.0.1", dovecot.port
    mailbox.imap_security = ImapSecurity.NONE
    mailbox.imap_user, mailbox.imap_password = dovecot.account(), dovecot.password
    mailbox.save(update_fields=["imap_host", "imap_port", "imap_security", "imap_user", "imap_password"])
    return mailbox


# Failures ----------------------------------------------------------------------------------


class RefusingDatabase:
    """A trigger that makes the database itself refuse every new ticket, as a full disk,
    a lost connection or a constraint would: a real database error, no mock."""

    def __init__(self):
        self.table = Ticket._meta.db_table
        self.active = False

    def refuse(self):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "CREATE FUNCTION intake_test_refuse() RETURNS trigger AS $$ "
                    "BEGIN RAISE EXCEPTION 'the database refuses new tickets'; END $$ LANGUAGE plpgsql"
                )
                cursor.execute(
                    f"CREATE TRIGGER intake_test_refuse BEFORE INSERT ON {self.table} "
                    "FOR EACH ROW EXECUTE FUNCTION intake_test_refuse()"
                )
            else:
                cursor.execute(
                    f"CREATE TRIGGER intake_test_refuse BEFORE INSERT ON {self.table} "
                    "BEGIN SELECT RAISE(ABORT, 'the database refuses new tickets'); END"
                )
        self.active = True

    def lift(self):
        if not self.active:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER intake_test_refuse ON {self.table}")
                cursor.execute("DROP FUNCTION intake_test_refuse()")
            else:
                cursor.execute("DROP TRIGGER intake_test_refuse")
        self.active = False


@pytest.fixture
def database_refuses_tickets(db):
    """The database fails every INSERT of a ticket until `.lift()`."""
    database = RefusingDatabase()
    database.refuse()
    yield database
    database.lift()


@pytest.fixture
def storage_fails(settings, tmp_path):
    """The attachment store cannot be written (MEDIA_ROOT under a file: fails even as root)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    settings.MEDIA_ROOT = blocker / "media"

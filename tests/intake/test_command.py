"""`manage.py receive_mail`, the process a site runs behind its MTA, end to end."""

import os
import selectors
import signal
import smtplib
import subprocess
import sys

import pytest

from incidents.models import Channel, Ticket

from ..notifications.conftest import ROOT, database_url, free_port
from .conftest import DESK_ADDRESS, as_bytes, compose


def read_line(process, timeout) -> str:
    """The process's next line of output, or "" if none comes in time."""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if selector.select(timeout):
            return process.stdout.readline()
    return ""


@pytest.mark.django_db(transaction=True)
def test_receive_mail_command_takes_mail_by_lmtp_until_it_is_stopped(mailbox, reporter, net_service, tmp_path):
    port = free_port()
    errors = (tmp_path / "stderr").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "receive_mail", "--lmtp", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url()},
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    try:
        line = read_line(process, timeout=30)
        assert line == f"Receiving mail by LMTP on 127.0.0.1:{port}\n", (tmp_path / "stderr").read_text()

        with smtplib.LMTP("127.0.0.1", port, timeout=30) as client:
            refused = client.sendmail(reporter.email, [DESK_ADDRESS], as_bytes(compose(reporter.email)))
            assert refused == {}
            client.mail(reporter.email)
            assert client.rcpt("nobody@firebreak.test")[0] == 550

        ticket = Ticket.objects.get()
        assert (ticket.service, ticket.reporter, ticket.channel) == (net_service, reporter, Channel.EMAIL)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
        errors.close()
    assert process.returncode == 0, (tmp_path / "stderr").read_text()
    assert output.strip() == "Stopped."

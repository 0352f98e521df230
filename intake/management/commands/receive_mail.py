"""Run the built-in LMTP/SMTP receiver until SIGTERM or Ctrl-C (see intake/receiver.py)."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from intake.receiver import DEFAULT_MAX_MESSAGE_BYTES, make_receiver


class Command(BaseCommand):
    help = "Receive the service mailboxes' mail by LMTP or SMTP from the site's MTA."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: 127.0.0.1).")
        parser.add_argument("--port", type=int, default=2525, help="Port to listen on (default: 2525).")
        parser.add_argument("--lmtp", action="store_true", help="Speak LMTP (RFC 2033) instead of SMTP.")
        parser.add_argument(
            "--max-size",
            type=int,
            default=DEFAULT_MAX_MESSAGE_BYTES,
            help="Largest message accepted, in bytes (default: 50 MiB).",
        )

    def handle(self, *args, host, port, lmtp, max_size, **options):
        if not 0 < port < 65536:
            raise CommandError("Give a port between 1 and 65535.")
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        receiver = make_receiver(host=host, port=port, lmtp=lmtp, max_size=max_size)
        receiver.start()
        protocol = "LMTP" if lmtp else "SMTP"
        self.stdout.write(f"Receiving mail by {protocol} on {host}:{port}", ending="\n")
        self.stdout.flush()
        try:
            while not stop.wait(1):
                pass
        finally:
            receiver.stop()
        self.stdout.write("Stopped.")

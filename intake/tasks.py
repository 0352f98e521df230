"""Celery shells: intake.polling does the work."""

from celery import shared_task

from . import polling


@shared_task(name="intake.poll", ignore_result=True)
def poll() -> int:
    """Poll the IMAP mailboxes (Celery beat, every minute). Safe to overlap: a message
    processed by two polls at once is processed once (its Message-ID is unique)."""
    return polling.poll_mailboxes()

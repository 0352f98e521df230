"""SMS backends, chosen like Django's e-mail backends by a dotted path (SMS_BACKEND)."""

import json
from pathlib import Path

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string


class SmsError(Exception):
    """The gateway refused or could not be reached; the send is retried later."""


class BaseBackend:
    def send(self, to: str, text: str) -> None:
        raise NotImplementedError


class FileBackend(BaseBackend):
    """Appends each SMS as a JSON line to SMS_FILE_PATH/sms.log: the embedded default."""

    def send(self, to, text):
        folder = Path(settings.SMS_FILE_PATH)
        folder.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"to": to, "text": text, "at": timezone.now().isoformat()}, ensure_ascii=False)
        with open(folder / "sms.log", "a", encoding="utf-8") as log:
            log.write(line + "\n")


class TwilioBackend(BaseBackend):
    """Twilio's Messages API: one form POST with basic auth (SMS_GATEWAY_URL can point
    at any compatible gateway)."""

    def send(self, to, text):
        url = settings.SMS_GATEWAY_URL.rstrip("/") + f"/2010-04-01/Accounts/{settings.SMS_ACCOUNT_SID}/Messages.json"
        try:
            response = requests.post(
                url,
                data={"To": to, "From": settings.SMS_FROM, "Body": text},
                auth=(settings.SMS_ACCOUNT_SID, settings.SMS_AUTH_TOKEN),
                timeout=10,
            )
        except requests.RequestException as error:
            raise SmsError(str(error)) from error
        if response.status_code >= 400:
            raise SmsError(f"gateway answered {response.status_code}: {response.text[:200]}")


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()


def send_sms(to: str, text: str) -> None:
    get_backend().send(to, text)

"""Each person sets their language, phone, quiet hours and how they hear of each event."""

from datetime import time

from django.urls import reverse

from notifications.models import Event, Preference


def form_data(**overrides):
    data = {"language": "fr", "phone": "06 12 34 56 78", "quiet_hours_start": "22:00", "quiet_hours_end": "07:00"}
    for event in Event:
        if event != Event.PAGE:
            data[f"{event.value}__email"] = "on"
    data["commented__sms"] = "on"
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_profile_saves_phone_in_e164_quiet_hours_and_choices(client, reporter):
    client.force_login(reporter)
    assert client.get(reverse("profile")).status_code == 200
    response = client.post(reverse("profile"), form_data())
    assert response.status_code == 302
    reporter.refresh_from_db()
    assert str(reporter.phone) == "+33612345678" and reporter.language == "fr"
    assert (reporter.quiet_hours_start, reporter.quiet_hours_end) == (time(22), time(7))
    commented = Preference.objects.get(user=reporter, event=Event.COMMENTED)
    assert commented.email and commented.sms
    assert not Preference.objects.get(user=reporter, event=Event.CREATED).sms


def test_bad_phone_is_refused_next_to_the_field_keeping_the_input(client, reporter):
    client.force_login(reporter)
    response = client.post(reverse("profile"), form_data(phone="12ab"))
    page = response.content.decode()
    assert response.status_code == 200
    assert 'value="12ab"' in page and "valid phone number" in page
    assert not Preference.objects.filter(user=reporter).exists()


def test_sms_without_a_phone_and_half_quiet_hours_are_refused(client, reporter):
    client.force_login(reporter)
    page = client.post(reverse("profile"), form_data(phone="", quiet_hours_end="")).content.decode()
    assert "SMS need a mobile phone number." in page
    assert "Give both ends of the quiet hours, or neither." in page

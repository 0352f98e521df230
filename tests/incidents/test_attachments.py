"""Attachments: server-made names, size limits, served only to who may see them, never rendered."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from incidents import actions
from incidents.models import Attachment


def upload(name="logs.txt", content=b"ERROR db connection refused", content_type="text/plain"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_a_comment_carries_files_stored_under_server_names(client, ticket, dev_tech):
    client.force_login(dev_tech)
    response = client.post(
        reverse("incidents:ticket-comment", args=[ticket.number]),
        {"body": "Server logs attached.", "attachments": [upload(), upload("../../etc/passwd", b"x")]},
    )
    assert response.status_code == 302
    files = list(Attachment.objects.order_by("pk"))
    assert [f.name for f in files] == ["logs.txt", "passwd"]
    assert all("logs" not in f.file.name and ".." not in f.file.name for f in files)
    page = client.get(ticket.get_absolute_url()).content.decode()
    assert files[0].get_absolute_url() in page


def test_download_is_an_attachment_with_nosniff_and_html_is_never_rendered(client, ticket, dev_tech, reporter):
    entry = actions.add_comment(
        ticket, by=dev_tech, body="x", files=[upload("evil.svg", b"<svg onload=alert(1)>", "image/svg+xml")]
    )
    file = entry.attachments.get()
    client.force_login(reporter)
    response = client.get(file.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == b"<svg onload=alert(1)>"


def test_files_are_served_only_to_who_may_see_ticket_and_entry(client, ticket, dev_tech, other_reporter, reporter):
    public = actions.add_comment(ticket, by=dev_tech, body="x", files=[upload()]).attachments.get()
    internal = actions.add_comment(ticket, by=dev_tech, body="y", internal=True, files=[upload()]).attachments.get()
    client.force_login(other_reporter)
    assert client.get(public.get_absolute_url()).status_code == 404
    client.force_login(reporter)
    assert client.get(public.get_absolute_url()).status_code == 200
    assert client.get(internal.get_absolute_url()).status_code == 404
    client.force_login(dev_tech)
    assert client.get(internal.get_absolute_url()).status_code == 200


def test_oversized_files_are_refused_next_to_the_field_keeping_the_text(client, ticket, dev_tech, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    client.force_login(dev_tech)
    response = client.post(
        reverse("incidents:ticket-comment", args=[ticket.number]),
        {"body": "Here is the dump", "attachments": [upload(content=b"x" * 11)]},
    )
    page = response.content.decode()
    assert response.status_code == 200 and "is larger than" in page and "Here is the dump" in page
    assert not Attachment.objects.exists() and not ticket.timeline.filter(body="Here is the dump").exists()

"""The OpenAPI schema is valid, complete, and served with its documentation page offline."""

import re

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

OPERATIONS = {
    ("get", "/api/v1/tickets/"),
    ("post", "/api/v1/tickets/"),
    ("get", "/api/v1/tickets/{number}/"),
    ("post", "/api/v1/tickets/{number}/comments/"),
    ("post", "/api/v1/tickets/{number}/interventions/"),
    ("post", "/api/v1/tickets/{number}/reroute/"),
    ("post", "/api/v1/tickets/{number}/close/"),
    ("post", "/api/v1/tickets/{number}/reopen/"),
    ("post", "/api/v1/tickets/{number}/decide/"),
    ("post", "/api/v1/tickets/{number}/assign/"),
    ("post", "/api/v1/tickets/{number}/take/"),
    ("get", "/api/v1/services/"),
    ("get", "/api/v1/applications/"),
}


def test_the_schema_validates_without_warnings(tmp_path, db):
    """drf-spectacular's own check: the OpenAPI 3 JSON schema, and no generation warning."""
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    operations = {(method, url) for url, item in schema["paths"].items() for method in item}
    assert operations == OPERATIONS


@pytest.mark.parametrize("persona", ["anonymous", "reporter"])
def test_the_schema_is_served_in_yaml_and_json(persona, as_persona):
    client = as_persona(persona)
    response = client.get(reverse("api:schema"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    as_json = client.get(reverse("api:schema"), {"format": "json"}).json()
    assert as_json == schema
    for url, item in schema["paths"].items():
        for method, operation in item.items():
            assert {"401", "429"} <= set(operation["responses"]), (method, url)
            assert operation["security"] == [{"knoxApiToken": []}, {"cookieAuth": []}]
            if "{number}" in url:
                assert "404" in operation["responses"], (method, url)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(operation["responses"]), (method, url)
    token = schema["components"]["securitySchemes"]["knoxApiToken"]
    assert token == {"type": "apiKey", "in": "header", "name": "Authorization", "description": token["description"]}
    assert "Token" in token["description"]


def test_the_documentation_page_needs_no_cdn_and_no_inline_code(client):
    page = client.get(reverse("api:docs"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "an asset from another host"
    assert "<style" not in html and not re.search(r"<script>", html), "inline code the CSP blocks"
    script = client.get(reverse("api:docs"), {"script": ""})
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert reverse("api:schema") in script.content.decode()
    assert client.get(reverse("api:root")).url == reverse("api:docs")


def test_the_sidecar_files_are_served(client, settings):
    from django.contrib.staticfiles import finders

    for name in ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css", "favicon-32x32.png"):
        assert finders.find(f"drf_spectacular_sidecar/swagger-ui-dist/{name}"), name
    assert finders.find("api/docs.css")

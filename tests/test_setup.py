"""What `make run` and a production deployment rely on."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import User
from incidents.models import Application, Service, Ticket, TimelineEntry

ROOT = Path(__file__).resolve().parent.parent


def manage(*args, env=None, timeout=120):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_demo_data_has_one_account_per_role_and_is_idempotent(db):
    call_command("demo_data", verbosity=0)
    counts = [m.objects.count() for m in (User, Service, Application, Ticket, TimelineEntry)]
    call_command("demo_data", verbosity=0)
    assert [m.objects.count() for m in (User, Service, Application, Ticket, TimelineEntry)] == counts
    roles = {u.username: {g.name for g in u.groups.all()} for u in User.objects.prefetch_related("groups")}
    assert roles["operator"] == {"Operators"} and roles["developer"] == {"Technicians"}
    assert roles["manager"] == {"Managers"} and roles["customer"] == {"Users"}
    assert User.objects.get(username="admin").is_superuser


def test_deploy_check_passes_with_production_variables(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": "x" * 24 + "-production-secret-key-with-enough-entropy-0123456789",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "desk.example.com",
        "SECURE_SSL": "true",
        "FIREBREAK_VAR_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests in this process only
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_debug_is_off_unless_asked_and_bad_values_are_refused(tmp_path):
    env = {**os.environ, "FIREBREAK_VAR_DIR": str(tmp_path), "DEBUG": "maybe"}
    result = manage("check", env=env)
    assert result.returncode != 0 and "DEBUG must be true or false" in result.stderr
    env.pop("DEBUG")
    code = "from django.conf import settings; print(settings.DEBUG)"
    result = manage("shell", "-c", code, env=env)
    assert result.stdout.strip().endswith("False")


@pytest.mark.django_db(transaction=True)
def test_celery_worker_and_beat_start_on_the_configured_broker(tmp_path):
    """`make run` starts a worker and beat: on kombu's filesystem:// broker by default,
    on Redis when REDIS_URL is set. The worker answers a ping through the broker."""
    from django.db import connection

    env = {**os.environ, "FIREBREAK_VAR_DIR": str(tmp_path)}
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    else:
        s = connection.settings_dict
        env["DATABASE_URL"] = f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    worker = subprocess.Popen(
        [*celery, "worker", "--concurrency=1", "--loglevel=WARNING", f"--hostname=test{os.getpid()}@%h"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    beat = subprocess.Popen(
        [*celery, "beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat'}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        answered = False
        while time.monotonic() < deadline and not answered:
            probe = subprocess.run(
                [*celery, "inspect", "ping", "--timeout=2", f"--destination=test{os.getpid()}@{os.uname().nodename}"],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            answered = "pong" in probe.stdout
        assert answered, worker.stderr.read1().decode() if worker.poll() is not None else "no pong"
        assert beat.poll() is None, beat.stdout.read()
    finally:
        for process in (worker, beat):
            process.terminate()
        for process in (worker, beat):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def test_static_files_collect_for_production(tmp_path):
    """collectstatic with the hashed manifest storage (as `make run` and the image do)
    finds every file the vendored CSS and JS refer to."""
    env = {**os.environ, "FIREBREAK_VAR_DIR": str(tmp_path)}
    result = manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()


def test_vendored_assets_match_their_manifest():
    result = subprocess.run(
        [sys.executable, "bin/vendor_assets.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


def test_no_page_loads_assets_from_a_cdn():
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("templates", "static/css", "static/js")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and any(host in path.read_text(errors="ignore") for host in ("//cdn.", "unpkg.com", "jsdelivr"))
    ]
    assert offenders == []


def test_docker_compose_describes_the_production_stack():
    """docker-compose.yml cannot run here (no Docker engine), so it is read: the services
    the README promises, each Firebreak one built from this image, and every command
    naming a management command or Celery app that exists."""
    import yaml
    from django.core.management import get_commands

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "mail", "db", "redis"}
    for name in ("web", "worker", "beat", "mail"):
        service = services[name]
        assert service["build"] == "." and service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://")
        assert {"db", "redis"} <= set(service["depends_on"])
    assert "gunicorn config.wsgi" in services["web"]["command"]
    assert services["worker"]["command"].startswith("celery -A config worker")
    assert services["beat"]["command"].startswith("celery -A config beat")
    managed = [word for service in services.values() for word in str(service.get("command", "")).split()]
    for index, word in enumerate(managed[:-1]):
        if word == "manage.py":
            assert managed[index + 1] in get_commands(), managed[index + 1]
    assert set(compose["volumes"]) >= {"firebreak-data", "postgres-data", "redis-data"}

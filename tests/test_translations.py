"""The interface speaks French as well as English: the catalog is complete and compiled.

The committed catalog (locale/fr/LC_MESSAGES/django.po) and its compiled django.mo ship
with the code, so a fresh machine needs no gettext tools to run the desk in French. The
completeness check regenerates the catalog from the code in a copy of the tree with
`makemessages` (GNU gettext, installed by CI) and fails on any string added to the code
without its translation.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import translation

ROOT = Path(__file__).resolve().parent.parent
CATALOG = Path("locale") / "fr" / "LC_MESSAGES"
SKIP_DIRS = {".venv", "var", ".git", "node_modules", "__pycache__", "vendor", "results", "screenshots"}


def test_the_compiled_catalog_translates_the_desk():
    with translation.override("fr"):
        assert translation.gettext("Current tickets") == "Tickets en cours"
        assert translation.gettext("Evolution requests") == "Demandes d'évolution"
        assert translation.gettext("Open the ticket") == "Ouvrir le ticket"


def test_the_compiled_catalog_is_up_to_date_with_its_source(tmp_path):
    if not shutil.which("msgfmt"):
        pytest.fail("GNU gettext (msgfmt) is needed to check the French catalog: apt-get install gettext")
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", compiled, ROOT / CATALOG / "django.po"], check=True)
    assert compiled.read_bytes() == (ROOT / CATALOG / "django.mo").read_bytes(), "run `make messages`"


def test_every_string_of_the_code_has_a_french_translation(tmp_path):
    if not shutil.which("xgettext"):
        pytest.fail("GNU gettext (xgettext) is needed to check the French catalog: apt-get install gettext")
    tree = tmp_path / "tree"
    shutil.copytree(ROOT, tree, ignore=lambda _dir, names: [n for n in names if n in SKIP_DIRS])
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "fr", "--no-obsolete", "--verbosity", "0"],
        cwd=tree,
        check=True,
        capture_output=True,
    )
    statistics = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", tree / CATALOG / "django.po"],
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    missing = re.findall(r"(\d+) (?:fuzzy|untranslated)", statistics)
    assert not any(int(n) for n in missing), f"untranslated strings ({statistics.strip()}): run `make messages`"

#!/usr/bin/env python3
# ruff: noqa: S603, S607  (runs npm, a developer tool, with fixed arguments)
"""Vendor front-end assets from the npm registry into static/vendor/<pkg>/<version>/.

The product runs on closed networks, so no page loads anything from a CDN. This script
runs `npm pack <pkg>@<version>`, extracts only the listed files and records name,
version, tarball integrity, licence and the sha256 of every file in
static/vendor/MANIFEST.json. `make run` never needs npm: the files are committed.

Usage: python bin/vendor_assets.py          # fetch what is missing, rewrite MANIFEST
       python bin/vendor_assets.py --check  # verify committed files against MANIFEST
"""

import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor"
MANIFEST = VENDOR / "MANIFEST.json"

PACKAGES = {
    "htmx.org": ("2.0.11", ["dist/htmx.min.js"]),
    # Source maps come along: the manifest storage follows sourceMappingURL references.
    "bootstrap": (
        "5.3.9",
        [
            "dist/css/bootstrap.min.css",
            "dist/css/bootstrap.min.css.map",
            "dist/js/bootstrap.bundle.min.js",
            "dist/js/bootstrap.bundle.min.js.map",
        ],
    ),
    "bootstrap-icons": (
        "1.13.2",
        ["font/bootstrap-icons.min.css", "font/fonts/bootstrap-icons.woff2", "font/fonts/bootstrap-icons.woff"],
    ),
    "tom-select": (
        "2.6.2",
        [
            "dist/js/tom-select.complete.min.js",
            "dist/js/tom-select.complete.min.js.map",
            "dist/css/tom-select.bootstrap5.min.css",
            "dist/css/tom-select.bootstrap5.min.css.map",
        ],
    ),
}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch() -> None:
    manifest = []
    for name, (version, files) in PACKAGES.items():
        dest = VENDOR / name / version
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run(
                ["npm", "pack", f"{name}@{version}", "--json", "--pack-destination", tmp],
                check=True,
                capture_output=True,
                text=True,
                cwd=tmp,
            )
            info = json.loads(out.stdout)[0]
            with tarfile.open(Path(tmp) / info["filename"]) as tar:
                pkg = json.load(tar.extractfile("package/package.json"))
                for rel in files:
                    member = tar.extractfile(f"package/{rel}")
                    target = dest / rel
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(member.read())
        manifest.append(
            {
                "name": name,
                "version": version,
                "license": pkg.get("license"),
                "integrity": info["integrity"],
                "files": {rel: sha256(dest / rel) for rel in files},
            }
        )
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")


def check() -> int:
    bad = 0
    for entry in json.loads(MANIFEST.read_text()):
        for rel, digest in entry["files"].items():
            path = VENDOR / entry["name"] / entry["version"] / rel
            if not path.exists() or sha256(path) != digest:
                print(f"mismatch: {path}")
                bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(check() if "--check" in sys.argv else fetch())

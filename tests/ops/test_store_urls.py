"""DATABASE_URL as operators write it: libpq's postgresql:// and postgres:// reach SQLAlchemy's
psycopg 3 dialect, passwords never reach a log or an error, a missing driver is one clear line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.store import Store, normalise_url, redact_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("url", ["postgresql://u:pw@db:5432/vm", "postgres://u:pw@db:5432/vm"])
def test_libpq_urls_use_the_psycopg_dialect(url):
    assert normalise_url(url) == "postgresql+psycopg://u:pw@db:5432/vm"
    assert Store(url).url.startswith("postgresql+psycopg://")


def test_other_urls_are_left_alone():
    for url in ("sqlite:////tmp/x.db", "postgresql+psycopg://u@h/d", "mysql://u@h/d"):
        assert normalise_url(url) == url


def test_passwords_are_redacted():
    assert redact_url("postgresql://u:s3cret@db/vm") == "postgresql://u:***@db/vm"
    assert "s3cret" not in Store("postgres://u:s3cret@db/vm").safe_url


def test_a_missing_driver_is_one_line_not_a_traceback():
    code = ("import sys; sys.modules['psycopg'] = None\n"
            "from app.store import Store, StoreError\n"
            "try:\n    Store('postgresql://u:s3cret@127.0.0.1:1/vm').open()\n"
            "except StoreError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr
    assert "vmemscope[postgres]" in out.stdout and "s3cret" not in out.stdout
    assert out.stdout.count("\n") == 1

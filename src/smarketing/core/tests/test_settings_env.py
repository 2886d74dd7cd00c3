"""Configuration from the environment fails loudly on bad values."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from smarketing.env import get_from_env


def test_typed_values(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a, b,,c")
    assert get_from_env("X_BOOL", False) is True
    assert get_from_env("X_INT", 1) == 42
    assert get_from_env("X_LIST", []) == ["a", "b", "c"]
    assert get_from_env("X_MISSING", "dflt") == "dflt"


def test_bad_values_name_the_variable(monkeypatch):
    monkeypatch.setenv("X_INT", "forty")
    with pytest.raises(ImproperlyConfigured, match="X_INT"):
        get_from_env("X_INT", 1)
    monkeypatch.setenv("X_BOOL", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL"):
        get_from_env("X_BOOL", False)


def test_production_refuses_debug_and_missing_secret(tmp_path):
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DATABASE_URL")}
    base.update(
        SMARKETING_DATA_DIR=str(tmp_path),
        SMARKETING_ENV="production",
        DJANGO_SETTINGS_MODULE="smarketing.settings",
    )
    code = "import django; django.setup()"

    def run(env):
        return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)

    missing = run(base)
    assert missing.returncode != 0 and "Set SECRET_KEY" in missing.stderr
    debug = run({**base, "DEBUG": "true", "SECRET_KEY": "x" * 40})
    assert debug.returncode != 0 and "DEBUG must be off" in debug.stderr
    ok = run({**base, "SECRET_KEY": "x" * 40})
    assert ok.returncode == 0, ok.stderr

"""Settings: defaults that work, overrides, and one clear message for a bad value."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from app.config import DEV_SECRET_KEY, ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_development_defaults_work_without_any_environment():
    settings = load_settings(environ={})
    assert settings["SMS_PROVIDER"] == "console"
    assert settings["EMAIL_PROVIDER"] == "console"
    assert settings["PAYMENT_PROVIDER"] == "demo"
    assert settings["EHR_ADAPTER"] == settings["BILLING_ADAPTER"] == "none"
    assert settings["ELIGIBILITY_ADAPTER"] == "none"
    assert settings["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    assert settings["DATABASE_URL"].startswith("sqlite:///")
    assert settings["DATABASE_URL"].endswith("instance/frontdesk.db")


def test_dict_overrides_environment():
    twilio = {"TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "token",
              "TWILIO_FROM_NUMBER": "+14155550100"}
    settings = load_settings({"SMS_PROVIDER": "twilio", **twilio},
                             environ={"SMS_PROVIDER": "console"})
    assert settings["SMS_PROVIDER"] == "twilio"


def test_postgres_url_uses_psycopg3():
    settings = load_settings(environ={"DATABASE_URL": "postgresql://u:p@db:5432/fd"})
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u:p@db:5432/fd"


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SMS_PROVIDER", "carrier-pigeon", "SMS_PROVIDER='carrier-pigeon' is not one of"),
    ("EMAIL_PROVIDER", "smtp", "EMAIL_PROVIDER='smtp' is not one of"),
    ("PAYMENT_PROVIDER", "cash", "PAYMENT_PROVIDER='cash' is not one of"),
    ("EHR_ADAPTER", "epic?", "EHR_ADAPTER='epic?' is not one of"),
    ("DATABASE_URL", "not a url", "DATABASE_URL='not a url' is not a database URL"),
    ("DATABASE_URL", "mysql://db/fd", "DATABASE_URL: unsupported database 'mysql'"),
    ("PRACTICE_TIMEZONE", "Mars/Olympus_Mons", "PRACTICE_TIMEZONE='Mars/Olympus_Mons' is not"),
    ("PUBLIC_BASE_URL", "clinic.example", "PUBLIC_BASE_URL='clinic.example' must start"),
    ("SESSION_IDLE_MINUTES", "soon", "SESSION_IDLE_MINUTES='soon' is not a whole number"),
    ("SESSION_IDLE_MINUTES", "0", "SESSION_IDLE_MINUTES='0' must be at least 1"),
    ("TRUST_PROXY", "maybe", "TRUST_PROXY='maybe' is not true or false"),
])
def test_bad_setting_is_named(name, value, message):
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace("(", r"\(")):
        create_app({name: value})


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PHI_ENCRYPTION_KEY", "PHI_INDEX_KEY"])
def test_production_refuses_development_or_missing_keys(missing):
    environ = {
        "FRONTDESK_ENV": "production",
        "SECRET_KEY": "a-real-secret-from-the-vault",
        "PHI_ENCRYPTION_KEY": "k2:" + "QUFB" * 10 + "QUFBQQ==",
        "PHI_INDEX_KEY": "QkJC" * 10 + "QkJCQg==",
    }
    environ.pop(missing)
    with pytest.raises(ConfigError, match=f"{missing} must be set"):
        load_settings(environ=environ)
    environ[missing] = DEV_SECRET_KEY if missing == "SECRET_KEY" else load_settings(
        environ={})[missing]
    with pytest.raises(ConfigError, match=f"{missing} must be set"):
        load_settings(environ=environ)


def test_cli_start_up_with_bad_setting_prints_one_line_not_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "DATABASE_"))}
    env.update(SMS_PROVIDER="carrier-pigeon", FLASK_APP="wsgi")
    result = subprocess.run([sys.executable, "-m", "flask", "users", "list"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "Frontdesk cannot start: SMS_PROVIDER='carrier-pigeon' is not one of: console, twilio")


def test_a_sqlite_database_in_a_missing_folder_gets_its_folder(tmp_path):
    target = tmp_path / "fresh-checkout" / "instance" / "frontdesk.db"
    create_app({"DATABASE_URL": f"sqlite:///{target}"})
    assert target.parent.is_dir()

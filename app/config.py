"""Settings: one table, read from the environment, overridable by a dict.

Every setting is declared once in ``SETTINGS`` with its default and a check. The README's
settings table is this list. A bad value raises ``ConfigError`` naming the setting, and the
CLI and WSGI entry points turn that into one clear line instead of a traceback.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
SUPPORTED_LOCALES = ("en", "es")  # the page languages (a translation per code)

# Development defaults. Production refuses to start while either is still in use.
DEV_SECRET_KEY = "dev-secret-key-not-for-production"  # noqa: S105
DEV_PHI_ENCRYPTION_KEY = "dev1:ZGV2LXBoaS1rZXktMzItYnl0ZXMtbm90LXByb2QhISE="
DEV_PHI_INDEX_KEY = "ZGV2LWJsaW5kLWluZGV4LWtleS1ub3QtZm9yLXByb2Q="


class ConfigError(Exception):
    """A setting is missing or malformed. The message names the setting."""


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if value not in allowed:
            raise ConfigError(f"{name}={value!r} is not one of: {', '.join(allowed)}")
        return value

    return check


def _int(minimum: int) -> Callable[[str, str], int]:
    def check(name: str, value: str) -> int:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{name}={value!r} is not a whole number") from None
        if number < minimum:
            raise ConfigError(f"{name}={value!r} must be at least {minimum}")
        return number

    return check


def _bool(name: str, value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name}={value!r} is not true or false")


def _timezone(name: str, value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{name}={value!r} is not an IANA time zone (e.g. America/Chicago)") from None
    return value


def _database_url(name: str, value: str) -> str:
    try:
        url = make_url(value)
    except ArgumentError:
        raise ConfigError(f"{name}={value!r} is not a database URL") from None
    backend = url.get_backend_name()
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(f"{name}: unsupported database {backend!r} (use sqlite or postgresql)")
    if backend == "postgresql":
        # psycopg 3 is the driver; a bare postgresql:// URL would look for psycopg2.
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name}={value!r} must start with http:// or https://")
    return value.rstrip("/")


def _text(name: str, value: str) -> str:
    return value


def _optional(check: Callable[[str, str], Any]) -> Callable[[str, str], Any]:
    """An empty value means "not set" and stays ""."""
    def optional(name: str, value: str) -> Any:
        return "" if value == "" else check(name, value)

    return optional


def _pattern(regex: str, example: str) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if not re.fullmatch(regex, value):
            raise ConfigError(f"{name}={value!r} does not look like {example}")
        return value

    return check


def _long_secret(name: str, value: str) -> str:
    if len(value) < 16:  # the value is a secret: never echoed
        raise ConfigError(f"{name} must be at least 16 characters")
    return value


def _email(name: str, value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        raise ConfigError(f"{name}={value!r} is not an email address") from None


def _ec_public_key(name: str, value: str) -> str:
    try:
        key = load_der_public_key(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ConfigError(f"{name} is not a base64 ECDSA public key (SendGrid's verification key)")
    return value


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    check: Callable[[str, Any], Any]
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("FRONTDESK_ENV", "development", _choice("development", "production", "test"),
            "development, test or production; production refuses development keys."),
    Setting("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'frontdesk.db'}", _database_url,
            "SQLAlchemy URL: a SQLite file, or postgresql://... (psycopg 3)."),
    Setting("SECRET_KEY", DEV_SECRET_KEY, _text,
            "Signs session cookies and patient links."),
    Setting("PHI_ENCRYPTION_KEY", DEV_PHI_ENCRYPTION_KEY, _text,
            "Keys for PHI at rest: 'kid:base64(32 bytes)', comma-separated, newest first."),
    Setting("PHI_INDEX_KEY", DEV_PHI_INDEX_KEY, _text,
            "base64(32 bytes) for blind indexes and the audit chain; never rotates."),
    Setting("PUBLIC_BASE_URL", "http://127.0.0.1:5000", _url,
            "The URL patients and webhooks reach this app at."),
    Setting("PRACTICE_TIMEZONE", "America/New_York", _timezone,
            "Default IANA time zone for a practice without a location zone."),
    Setting("SMS_PROVIDER", "console", _choice("console", "twilio"),
            "console keeps messages for the dev outbox (logs only ids); twilio sends them."),
    Setting("EMAIL_PROVIDER", "console", _choice("console", "sendgrid"),
            "console keeps email for the dev outbox (logs only ids); sendgrid sends it."),
    Setting("TWILIO_ACCOUNT_SID", "", _optional(_pattern(r"AC[0-9a-fA-F]{32}", "AC + 32 hex")),
            "Twilio account SID (required when SMS_PROVIDER=twilio)."),
    Setting("TWILIO_AUTH_TOKEN", "", _text,
            "Twilio auth token: authenticates API calls and checks webhook signatures."),
    Setting("TWILIO_MESSAGING_SERVICE_SID", "",
            _optional(_pattern(r"MG[0-9a-fA-F]{32}", "MG + 32 hex")),
            "Messaging Service that sends texts; if set, TWILIO_FROM_NUMBER is not used."),
    Setting("TWILIO_FROM_NUMBER", "", _optional(_pattern(r"\+[1-9][0-9]{6,14}", "+14155550100")),
            "E.164 sender number, when no Messaging Service is used."),
    Setting("TWILIO_API_BASE_URL", "", _optional(_url),
            "Optional: send Twilio API calls to another base URL (a local fake)."),
    Setting("SENDGRID_API_KEY", "", _text,
            "SendGrid API key with Mail Send access (required when EMAIL_PROVIDER=sendgrid)."),
    Setting("SENDGRID_FROM_EMAIL", "", _optional(_email),
            "Verified sender address email goes out from."),
    Setting("SENDGRID_API_BASE_URL", "", _optional(_url),
            "Optional: send SendGrid API calls to another base URL (a local fake)."),
    Setting("SENDGRID_WEBHOOK_PUBLIC_KEY", "", _optional(_ec_public_key),
            "Verification key of SendGrid's signed event webhook (base64)."),
    Setting("PROVIDER_TIMEOUT_SECONDS", "10", _int(1),
            "Timeout of each call to Twilio or SendGrid."),
    Setting("PAYMENT_PROVIDER", "demo", _choice("demo", "stripe"),
            "demo completes payments locally; stripe uses Stripe Checkout."),
    Setting("STRIPE_SECRET_KEY", "", _optional(_pattern(r"(sk|rk)_(test|live)_\w+", "sk_test_...")),
            "Stripe secret (or restricted) key (required when PAYMENT_PROVIDER=stripe)."),
    Setting("STRIPE_WEBHOOK_SECRET", "", _optional(_pattern(r"whsec_\w+", "whsec_...")),
            "Signing secret of the Stripe webhook endpoint (PUBLIC_BASE_URL/webhooks/stripe)."),
    Setting("STRIPE_API_BASE_URL", "", _optional(_url),
            "Optional: send Stripe API calls to another base URL (a local fake)."),
    Setting("STATEMENT_MIN_BALANCE", "10", _int(1),
            "The monthly statement run covers accounts owing at least this many dollars."),
    Setting("EHR_ADAPTER", "none", _choice("none"),
            "EHR the practice syncs with (none: Frontdesk is the system of record)."),
    Setting("BILLING_ADAPTER", "none", _choice("none", "webhook"),
            "Billing system posted payments and refunds are pushed to (none: kept in "
            "Frontdesk only; webhook: a signed JSON POST to BILLING_WEBHOOK_URL)."),
    Setting("BILLING_WEBHOOK_URL", "", _optional(_url),
            "Where BILLING_ADAPTER=webhook POSTs each posted payment and refund."),
    Setting("BILLING_WEBHOOK_SECRET", "", _optional(_long_secret),
            "HMAC-SHA256 key of the billing webhook's Frontdesk-Signature header."),
    Setting("ELIGIBILITY_ADAPTER", "none", _choice("none"),
            "Insurance eligibility service (none: no automatic checks)."),
    Setting("SESSION_IDLE_MINUTES", "15", _int(1),
            "Staff are signed out after this many idle minutes (activity is written at "
            "most once a minute, so up to a minute sooner)."),
    Setting("SESSION_ABSOLUTE_HOURS", "12", _int(1),
            "A staff session ends this many hours after sign-in, however active."),
    Setting("LOGIN_MAX_FAILURES", "5", _int(1),
            "Failed sign-ins per account within the lockout window before it locks."),
    Setting("LOGIN_MAX_FAILURES_PER_IP", "20", _int(1),
            "Failed sign-ins from one IP address within the window before it is blocked."),
    Setting("LOGIN_LOCKOUT_MINUTES", "15", _int(1),
            "Length of the lockout window."),
    Setting("TRUST_PROXY", "false", _bool,
            "Trust X-Forwarded-For/-Proto from one reverse proxy (TLS terminator): the "
            "per-address limits and the audit trail then see each client's address."),
    Setting("SMS_MESSAGES_PER_SECOND", "10", _int(0),
            "Per-worker pacing of outgoing texts (0: no pacing); keep under the sender's limit."),
    Setting("WAITLIST_BATCH_SIZE", "3", _int(1),
            "How many waiting patients are offered a freed slot at once."),
    Setting("WAITLIST_OFFER_MINUTES", "120", _int(1),
            "A waitlist offer can be taken for this many minutes."),
    Setting("SCHEDULING_LINKS_DAYS", "14", _int(1),
            "Days of open slots published for slot aggregators (SMART Scheduling Links)."),
    Setting("SCHEDULING_LINKS_CACHE_SECONDS", "60", _int(0),
            "Each process reuses a computed slot file this long (0: never); bookings empty it."),
    Setting("LOG_LEVEL", "INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR"),
            "Logging level."),
    Setting("LOG_FORMAT", "json", _choice("json", "text"),
            "json: one JSON object a line (production); text: readable lines."),
    Setting("METRICS_TOKEN", "", _text,
            "Bearer token /metrics requires; empty: /metrics is off (404)."),
)

SECRET_SETTINGS = {
    "SECRET_KEY": DEV_SECRET_KEY,
    "PHI_ENCRYPTION_KEY": DEV_PHI_ENCRYPTION_KEY,
    "PHI_INDEX_KEY": DEV_PHI_INDEX_KEY,
}


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return checked settings: defaults < environment < overrides."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    settings: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = overrides.pop(setting.name, environ.get(setting.name, setting.default))
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raw = setting.default
        settings[setting.name] = setting.check(setting.name, raw)
    if settings["FRONTDESK_ENV"] == "production":
        for name, dev_value in SECRET_SETTINGS.items():
            value = overrides.get(name, environ.get(name))
            if not value or value == dev_value:
                raise ConfigError(
                    f"{name} must be set to a secret of your own when FRONTDESK_ENV=production"
                )
    _check_provider_settings(settings)
    settings.update(overrides)  # extra Flask keys (TESTING, WTF_CSRF_ENABLED, ...) pass through
    return settings


# provider setting and value -> groups of settings; at least one of each group must be set
PROVIDER_REQUIREMENTS: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = {
    ("SMS_PROVIDER", "twilio"): (("TWILIO_ACCOUNT_SID",), ("TWILIO_AUTH_TOKEN",),
                                 ("TWILIO_MESSAGING_SERVICE_SID", "TWILIO_FROM_NUMBER")),
    ("EMAIL_PROVIDER", "sendgrid"): (("SENDGRID_API_KEY",), ("SENDGRID_FROM_EMAIL",),
                                     ("SENDGRID_WEBHOOK_PUBLIC_KEY",)),
    ("PAYMENT_PROVIDER", "stripe"): (("STRIPE_SECRET_KEY",), ("STRIPE_WEBHOOK_SECRET",)),
    ("BILLING_ADAPTER", "webhook"): (("BILLING_WEBHOOK_URL",), ("BILLING_WEBHOOK_SECRET",)),
}


def _check_provider_settings(settings: Mapping[str, Any]) -> None:
    for (provider, value), groups in PROVIDER_REQUIREMENTS.items():
        if settings[provider] != value:
            continue
        for group in groups:
            if not any(settings[name] for name in group):
                raise ConfigError(
                    f"{' or '.join(group)} must be set when {provider}={value}")

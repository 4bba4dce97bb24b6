"""Email providers: ``get_email_provider(settings)`` picks one by ``EMAIL_PROVIDER``."""

from app.adapters.email import console, sendgrid  # noqa: F401  (each registers itself)
from app.adapters.email.base import (
    REFERENCE_ARG,
    EmailAttachment,
    EmailProvider,
    get_email_provider,
    mask_email,
)

__all__ = ["REFERENCE_ARG", "EmailAttachment", "EmailProvider", "get_email_provider", "mask_email"]

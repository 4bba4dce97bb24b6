"""SMS providers: ``get_sms_provider(settings)`` picks one by ``SMS_PROVIDER``."""

from app.adapters.sms import console, twilio  # noqa: F401  (each registers itself)
from app.adapters.sms.base import SmsProvider, get_sms_provider, mask_phone

__all__ = ["SmsProvider", "get_sms_provider", "mask_phone"]

"""Words for messaging codes on staff pages (message states, consent sources, routing), in
the reader's language. Templates reach them through the ``messaging_labels`` global."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

STATUS = {
    "received": _l("Received"), "scheduled": _l("Scheduled"), "sending": _l("Sending"),
    "sent": _l("Sent"), "delivered": _l("Delivered"), "undelivered": _l("Undelivered"),
    "failed": _l("Failed"), "cancelled": _l("Cancelled"), "suppressed": _l("Suppressed"),
}
# badge class per state: done well, waiting, or needs a look
STATUS_BADGE = {
    "received": "badge-ok", "sent": "badge-ok", "delivered": "badge-ok",
    "scheduled": "badge-attention", "sending": "badge-attention",
    "undelivered": "badge-danger", "failed": "badge-danger", "suppressed": "badge-danger",
    "cancelled": "",
}
DIRECTION = {"inbound": _l("In"), "outbound": _l("Out")}
CHANNEL = {"sms": _l("Text message"), "email": _l("Email")}
PURPOSE_GROUP = {
    "transactional": _l("Appointments and replies"), "billing": _l("Billing"),
    "marketing": _l("Marketing"), "all": _l("Everything on this channel"),
}
PURPOSE = {
    "appointment": _l("Appointments"), "conversation": _l("Conversations"),
    "system": _l("Automatic replies"), "billing": _l("Billing"), "marketing": _l("Marketing"),
    "all": _l("Everything"),
}
SOURCE = {
    "keyword": _l("Patient's text reply"), "staff": _l("Staff"), "form": _l("Patient form"),
    "carrier": _l("Carrier block"), "email_event": _l("Email provider"), "ehr": _l("EHR"),
    "import": _l("Import"),
}
# Message.status_reason values that are codes rather than a rule's own words
REASON = {
    "opt_out": _l("Opt-out keyword"), "opt_in": _l("Opt-in keyword"),
    "help": _l("Help request"), "intent": _l("Answered automatically"),
    "likely_opt_out": _l("May be a request to stop texts"),
    "likely_opt_out_honoured": _l("Honoured as an opt-out"),
    "likely_opt_out_dismissed": _l("Not an opt-out"),
}
UNUSABLE = {
    "invalid_number": _l("not a valid number"), "unroutable": _l("no carrier can reach it"),
    "not_mobile": _l("not a mobile number"), "landline": _l("a landline"),
    "invalid_address": _l("the address refuses mail"), "bounce": _l("mail bounced"),
    "blocked": _l("mail blocked by the receiving server"), "dropped": _l("mail dropped"),
    "spam_report": _l("the patient reported our mail as spam"),
}


def messaging_labels() -> dict[str, Any]:
    return {"status": STATUS, "status_badge": STATUS_BADGE, "direction": DIRECTION,
            "channel": CHANNEL, "purpose_group": PURPOSE_GROUP, "purpose": PURPOSE,
            "source": SOURCE, "reason": REASON, "unusable": UNUSABLE}

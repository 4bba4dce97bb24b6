"""MMS pictures: an inbound text's ``MediaUrl<N>`` are recorded with the message (in the
webhook's transaction) and fetched by ``flask worker`` with the provider's credentials
(``adapters.sms.media``), then stored encrypted in ``MessageMedia.content`` and the
provider's URL forgotten. A fetch that fails for a passing reason is retried on the worker's
next rounds for ``RETRY_FOR``; a permanent failure keeps its reason for staff.

Files a staff member attaches to an email are kept the same way (``attach``, encrypted, with
their file name) and handed to the email provider by the dispatcher (``attachments``)."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from sqlalchemy import exists, or_, select

from app.adapters.email.base import EmailAttachment
from app.adapters.sms.media import FetchedMedia, MediaFetchError
from app.core.clock import utcnow
from app.core.tenancy import across_practices, acting_for
from app.extensions import db
from app.messaging.models import MessageMedia

log = logging.getLogger(__name__)
MAX_MEDIA = 10  # Twilio sends at most 10 per message
RETRY_FOR = timedelta(hours=24)
PERMANENT = "permanent: "

Fetch = Callable[[str], FetchedMedia]


def media_fields(form: object) -> list[tuple[str, str]]:
    """(url, content type) of each ``MediaUrl<N>`` in a Twilio webhook form."""
    get = form.get  # type: ignore[attr-defined]
    raw = (get("NumMedia") or "0").strip()
    count = min(int(raw), MAX_MEDIA) if raw.isdigit() and len(raw) < 4 else 0
    found = []
    for n in range(count):
        url = (get(f"MediaUrl{n}") or "").strip()
        if url:
            found.append((url[:2000], (get(f"MediaContentType{n}") or "")[:100]))
    return found


def record(*, practice_id: int, message_id: int, media: Sequence[tuple[str, str]]) -> None:
    """Remember the pictures to fetch (in the caller's transaction)."""
    now = utcnow()
    for position, (url, content_type) in enumerate(media):
        db.session.add(MessageMedia(practice_id=practice_id, message_id=message_id,
                                    position=position, source_url=url, created_at=now,
                                    content_type=content_type or "application/octet-stream"))


def attach(*, practice_id: int, message_id: int,
           files: Sequence[tuple[str, str, bytes]]) -> None:
    """Keep (file name, content type, bytes) with an outbound message, encrypted, in the
    caller's transaction. A message that has its files already (the same form posted twice,
    one message queued) keeps them: nothing is attached twice."""
    if not files or db.session.execute(select(exists().where(
            MessageMedia.message_id == message_id))).scalar():
        return
    now = utcnow()
    for position, (filename, content_type, data) in enumerate(files):
        db.session.add(MessageMedia(
            practice_id=practice_id, message_id=message_id, position=position,
            filename=filename, content_type=content_type, size=len(data), created_at=now,
            content=base64.b64encode(data).decode("ascii")))


def attachments(message_id: int) -> list[EmailAttachment]:
    """The files an outbound message carries, in order (none for most)."""
    rows = db.session.execute(
        select(MessageMedia.filename, MessageMedia.content_type, MessageMedia.content)
        .where(MessageMedia.message_id == message_id, MessageMedia.filename.is_not(None),
               MessageMedia.content.is_not(None))
        .order_by(MessageMedia.position)).all()
    return [EmailAttachment(filename=name, content_type=kind, data=base64.b64decode(content))
            for name, kind, content in rows]


def fetch_pending(*, fetch: Fetch, limit: int = 20) -> int:
    """Fetch pictures still only at the provider; how many were stored. Commits each."""
    with across_practices():  # the worker serves every practice; each row acts for its own
        pending = list(db.session.execute(
            select(MessageMedia.id, MessageMedia.practice_id).where(
                MessageMedia.content.is_(None), MessageMedia.source_url.is_not(None),
                or_(MessageMedia.fetch_error.is_(None),
                    ~MessageMedia.fetch_error.startswith(PERMANENT)),
                MessageMedia.created_at >= utcnow() - RETRY_FOR)
            .order_by(MessageMedia.id).limit(limit)).all())
    db.session.commit()  # end the read: the worker holds no transaction between rounds
    stored = 0
    for media_id, practice_id in pending:
        with acting_for(practice_id):
            stored += _fetch_one(media_id, fetch)
    return stored


def _fetch_one(media_id: int, fetch: Fetch) -> int:
    media = db.session.get_one(MessageMedia, media_id)
    try:
        fetched = fetch(media.source_url or "")
    except MediaFetchError as error:
        media.fetch_error = ((PERMANENT if error.permanent else "") + str(error))[:120]
        log.warning("MMS media %s not fetched: %s", media.id, error)
        db.session.commit()
        return 0
    media.content = base64.b64encode(fetched.data).decode("ascii")
    media.content_type, media.size = fetched.content_type, len(fetched.data)
    media.source_url, media.fetch_error = None, None
    db.session.commit()
    return 1

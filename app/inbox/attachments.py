"""Files staff attach to an email reply: what may go, checked before anything is queued.

Only PDF and pictures (JPEG, PNG, GIF, WebP), recognized by their first bytes, never by the
name or the type the browser claims; at most ``MAX_FILES`` files of ``MAX_FILE_BYTES`` each
and ``MAX_TOTAL_BYTES`` in all (SendGrid takes 30 MB per email, base64 included). The file
name is kept as the patient will see it, without folders or control characters, and ends
with the extension of its real type. Texts carry no attachments.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from flask_babel import gettext as _

MB = 1024 * 1024
MAX_FILE_BYTES = 10 * MB
MAX_TOTAL_BYTES = 20 * MB
MAX_FILES = 5
# The reply's request may hold the files and the form around them (the app's default is 5 MB).
MAX_REQUEST_BYTES = MAX_TOTAL_BYTES + MB
MAX_NAME_LENGTH = 120
EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"),
              "image/png": (".png",), "image/gif": (".gif",), "image/webp": (".webp",)}
FIELD = "attachments"
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


@dataclass(frozen=True)
class Limits:
    files: int = MAX_FILES
    file_mb: int = MAX_FILE_BYTES // MB
    total_mb: int = MAX_TOTAL_BYTES // MB


LIMITS = Limits()  # what the composer tells staff


@dataclass(frozen=True)
class Upload:
    """A file as the browser sent it: its name and (at most one byte past the limit of) its
    bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


def read_upload(filename: str | None, stream: BinaryIO) -> Upload | None:
    """What the view hands over: None for an empty file field; never more than one byte over
    the per-file limit is read (enough to say it is too large)."""
    if not filename:
        return None
    return Upload(filename=filename, data=stream.read(MAX_FILE_BYTES + 1))


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, among the allowed ones; None for anything else."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def clean_name(filename: str, content_type: str) -> str:
    """The last part of the name, printable, at most ``MAX_NAME_LENGTH`` characters, ending
    with an extension of ``content_type``."""
    base = re.split(r"[\\/]", filename)[-1]
    base = _UNSAFE.sub("_", unicodedata.normalize("NFC", base)).strip(" .") or "attachment"
    extensions = EXTENSIONS[content_type]
    stem, dot, extension = base.rpartition(".")
    suffix = f".{extension.lower()}"
    if dot and stem and suffix in extensions:
        return stem[:MAX_NAME_LENGTH - len(suffix)] + suffix
    return base[:MAX_NAME_LENGTH - len(extensions[0])] + extensions[0]


def check(uploads: list[Upload], errors: dict[str, str], *, channel: str) -> list[Attachment]:
    """The attachments to keep; a refusal goes into ``errors`` under ``attachments``, naming
    the file at fault."""
    if not uploads:
        return []
    if channel != "email":
        errors[FIELD] = _("Texts cannot carry attachments: send the file by email.")
        return []
    if len(uploads) > MAX_FILES:
        errors[FIELD] = _("Attach at most %(count)d files.", count=MAX_FILES)
        return []
    kept = []
    for upload in uploads:
        content_type = sniff(upload.data)
        if not upload.data:
            errors[FIELD] = _("%(name)s is empty.", name=upload.filename)
        elif len(upload.data) > MAX_FILE_BYTES:
            errors[FIELD] = _("%(name)s is larger than %(mb)d MB.", name=upload.filename,
                              mb=MAX_FILE_BYTES // MB)
        elif content_type is None:
            errors[FIELD] = _("%(name)s cannot be attached: only PDF, JPEG, PNG, GIF or WebP "
                              "files can.", name=upload.filename)
        else:
            kept.append(Attachment(clean_name(upload.filename, content_type), content_type,
                                   upload.data))
            continue
        return []
    if sum(len(a.data) for a in kept) > MAX_TOTAL_BYTES:
        errors[FIELD] = _("Attach at most %(mb)d MB in all.", mb=MAX_TOTAL_BYTES // MB)
        return []
    return kept

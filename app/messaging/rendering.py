"""Message texts: Jinja templates under templates/messages/<language>/.

Each message has ``<name>.sms.txt`` and, where it may go by email, ``<name>.subject.txt``,
``<name>.email.txt`` and ``<name>.email.html``. The patient's language picks the folder, with
English as the fallback. Every SMS must name the practice (CTIA, FCC 15-72) and carry no
clinical detail (minimum necessary): ``check_templates`` enforces both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from app.config import PROJECT_ROOT
from app.messaging.content_check import check_sms_template

MESSAGES_DIR = PROJECT_ROOT / "templates" / "messages"


class TemplateMissing(LookupError):
    pass


@dataclass(frozen=True)
class Rendered:
    text: str
    subject: str | None = None
    html: str | None = None


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(str(MESSAGES_DIR)), undefined=StrictUndefined,
                       autoescape=select_autoescape(["html"]), keep_trailing_newline=False,
                       trim_blocks=True, lstrip_blocks=True)


def _render(path: str, context: dict[str, Any]) -> str:
    text = _environment().get_template(path).render(**context)
    # An SMS is one paragraph: template line breaks must not cost characters.
    return " ".join(text.split()) if path.endswith(".sms.txt") else text.strip()


def render(name: str, *, channel: str, language: str, context: dict[str, Any]) -> Rendered:
    """Render ``name`` for the channel in the language (English when not translated)."""
    for lang in (language, "en"):
        try:
            if channel == "sms":
                return Rendered(text=_render(f"{lang}/{name}.sms.txt", context))
            return Rendered(subject=_render(f"{lang}/{name}.subject.txt", context),
                            text=_render(f"{lang}/{name}.email.txt", context),
                            html=_render(f"{lang}/{name}.email.html", context))
        except TemplateNotFound:
            continue
    raise TemplateMissing(f"no {channel} template named {name!r}")


def template_names() -> list[str]:
    return sorted({p.name.split(".")[0] for p in MESSAGES_DIR.glob("*/*.txt")})


def check_templates(sample_context: dict[str, Any], practice_name: str,
                    directory: Path = MESSAGES_DIR) -> dict[str, list[str]]:
    """Problems per SMS template file (clinical detail, practice not named)."""
    environment = Environment(loader=FileSystemLoader(str(directory)), undefined=StrictUndefined,
                              autoescape=select_autoescape(["html"]))
    problems: dict[str, list[str]] = {}
    for path in sorted(directory.glob("*/*.sms.txt")):
        relative = str(path.relative_to(directory))
        text = " ".join(environment.get_template(relative).render(**sample_context).split())
        found = check_sms_template(text, practice_name)
        if found:
            problems[relative] = [str(p) for p in found]
    return problems

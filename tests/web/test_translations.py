"""The Spanish catalog: complete, consistent, and compiled (the .mo is committed)."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from app.config import PROJECT_ROOT

CATALOG = PROJECT_ROOT / "app" / "translations" / "es" / "LC_MESSAGES"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}


def _plain(value):
    return tuple(value) if isinstance(value, list | tuple) else value


def _messages(catalog) -> dict[object, object]:
    return {_plain(m.id): _plain(m.string) for m in catalog if m.id}


def _po():
    with (CATALOG / "messages.po").open("rb") as f:
        return read_po(f, locale="es")


def test_compiled_mo_matches_the_po():
    with (CATALOG / "messages.mo").open("rb") as f:
        compiled = read_mo(f)
    assert _messages(compiled) == _messages(_po()), (
        "messages.mo is stale: run `make translations` and commit the .mo")


def _extracted() -> set[str]:
    """Every msgid in the code and templates, as `make translations` extracts them."""
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
    return {message[0] if isinstance(message, tuple) else message
            for _, _, message, _, _ in extract_from_dir(
                PROJECT_ROOT, method_map=method_map, keywords=KEYWORDS,
                directory_filter=lambda d: not Path(d).name.startswith(".")
                and Path(d).name not in {"node_modules", "instance", "__pycache__"})}


def test_every_ui_string_has_a_spanish_translation():
    translated = {(key[0] if isinstance(key, tuple) else key)
                  for key, value in _messages(_po()).items()
                  if value and (isinstance(value, str) or all(value))}
    missing = sorted(_extracted() - translated)
    assert not missing, ("strings without a Spanish translation (run `make translations`, "
                         f"then translate them in {CATALOG / 'messages.po'}): {missing}")


def test_translations_keep_their_placeholders():
    problems = [(message.id, [str(e) for e in errors]) for message, errors in _po().check()]
    assert problems == []

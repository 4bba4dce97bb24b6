"""The README's settings table is the contract with whoever deploys Frontdesk."""

import re
from pathlib import Path

from app.config import SETTINGS

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_documents_every_setting_and_no_other():
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", README.read_text(), flags=re.M))
    assert documented == {s.name for s in SETTINGS}

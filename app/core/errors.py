"""The error a service raises for bad input: every bad field at once, each with a reason a
person can read, so a form shows them beside their fields and the API names the elements."""

from __future__ import annotations


class FieldErrors(ValueError):
    """One or more fields are invalid; ``errors`` maps each field to a readable reason."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors.items()))
        self.errors = errors

"""Adapters by name: each outside system's implementations register under the value its
setting takes (``SMS_PROVIDER=twilio``), and the app builds the one the settings name."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from app.config import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, setting: str) -> None:
        self.setting = setting
        self._factories: dict[str, Callable[[Mapping[str, Any]], T]] = {}

    def register(self, name: str) -> Callable[[type], type]:
        """Class decorator: ``@register("twilio")``; the class needs ``from_settings``."""

        def add(cls: type) -> type:
            self._factories[name] = cls.from_settings  # type: ignore[attr-defined]
            return cls

        return add

    def build(self, settings: Mapping[str, Any]) -> T:
        name = settings[self.setting]
        try:
            factory = self._factories[name]
        except KeyError:
            raise ConfigError(f"{self.setting}={name!r} has no provider") from None
        return factory(settings)

"""Driving the flask commands the way a program does: Flask's ``app.test_cli_runner()`` on
an app with no application context pushed (each command pushes its own, as under ``flask``)."""

from __future__ import annotations

from collections.abc import Iterator

import click
from click.testing import Result
from flask import Flask

STAFF_PASSWORD = "a long operator password"  # noqa: S105
# Flask-Migrate's group: its commands are Alembic's, tested by the migrations tests.
NOT_OURS = {"db"}


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()
                  ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    for name, command in group.commands.items():
        if not prefix and name in NOT_OURS:
            continue
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


def our_commands(app: Flask) -> dict[str, click.Command]:
    """Every command of ours by its path, e.g. ``"users create"``."""
    return {" ".join(path): command for path, command in leaf_commands(app.cli)}


class Driver:
    """Runs commands on ``app`` and remembers which of ours ran."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.paths = set(our_commands(app))
        self.ran: set[str] = set()

    def __call__(self, *args: str, input: str | None = None) -> Result:  # noqa: A002
        words = [a for a in args if not a.startswith("-")]
        for size in (1, 2):
            if " ".join(words[:size]) in self.paths:
                self.ran.add(" ".join(words[:size]))
        return self.app.test_cli_runner().invoke(args=list(args), input=input)

    def ok(self, *args: str, input: str | None = None) -> str:  # noqa: A002
        result = self(*args, input=input)
        assert result.exit_code == 0, f"{' '.join(args)}: {result.output}{result.exception!r}"
        return result.output


def refused_in_one_line(result: Result) -> str:
    """The one ``Error:`` line of a refused command (non-zero exit, never a traceback)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    return errors[0]

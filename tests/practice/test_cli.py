"""The ``--practice`` option: a command acts for the practice it resolves, and only inside."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.tenancy import current_practice_id
from app.practice.cli import for_practice
from tests import factories


def test_a_practice_command_runs_acting_for_the_practice_it_was_given(make_app):
    seen: list[tuple[int, int | None]] = []
    probe = AppGroup("probe")

    @probe.command("run")
    @click.option("--say", default="hi")
    @for_practice
    def run(practice, say: str) -> None:  # noqa: ANN001
        seen.append((practice.id, current_practice_id()))
        click.echo(f"{say} {practice.name}")

    app = make_app()
    app.cli.add_command(probe)
    with app.app_context():
        first = factories.make_practice(name="Oak Dental").id
        second = factories.make_practice(name="Elm Dental").id
    runner = app.test_cli_runner()

    result = runner.invoke(args=["probe", "run", "--practice", str(second), "--say", "hello"])

    assert result.output == "hello Elm Dental\n"
    assert seen == [(second, second)]
    assert current_practice_id() is None
    assert runner.invoke(args=["probe", "run", "--practice", str(first)]).output == (
        "hi Oak Dental\n")
    assert seen[-1] == (first, first)

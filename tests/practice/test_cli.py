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


def test_creating_the_same_practice_twice_is_refused_naming_the_first(runner):
    args = ["practice", "create", "--name", "Oak Dental", "--phone", "+13125550100",
            "--timezone", "America/Chicago"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    first_id = int(first.output.splitlines()[0])

    again = runner.invoke(args=["practice", "create", "--name", "oak dental", "--phone",
                                "(312) 555-0100", "--timezone", "America/New_York"])
    assert again.exit_code == 1
    assert again.output == (f"Error: practice {first_id} already has this name and phone "
                            "number (see 'flask practice list')\n")
    assert runner.invoke(args=["practice", "list"]).output.count("Oak Dental") == 1

    other_phone = runner.invoke(args=[*args[:4], "--phone", "+13125550199", *args[6:]])
    other_name = runner.invoke(args=[*args[:2], "--name", "Oak Dental North", *args[4:]])
    assert other_phone.exit_code == 0 and other_name.exit_code == 0, other_name.output

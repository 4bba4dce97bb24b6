"""The project's flask commands, gathered from the domains that own them."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from app.demo.cli import demo_cli
    from app.fhir.cli import api_token_cli
    from app.jobs.cli import scheduler_command
    from app.journeys.cli import journeys_cli
    from app.messaging.cli import inbound_cli, worker_command
    from app.patients.cli import import_cli, patients_cli
    from app.practice.cli import practice_cli
    from app.security.audit_cli import audit_cli
    from app.security.cli import users_cli
    from app.security.keys_cli import keys_cli

    app.cli.add_command(practice_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(import_cli)
    app.cli.add_command(patients_cli)
    app.cli.add_command(worker_command)
    app.cli.add_command(inbound_cli)
    app.cli.add_command(scheduler_command)
    app.cli.add_command(demo_cli)
    app.cli.add_command(api_token_cli)
    app.cli.add_command(journeys_cli)

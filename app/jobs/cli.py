"""flask scheduler: the process that runs the periodic jobs."""

from __future__ import annotations

import logging
import signal
from types import FrameType

import click
from flask import current_app
from flask.cli import with_appcontext

from app.jobs import registry
from app.jobs.runner import build_scheduler, run_job


@click.command("scheduler",
               help="Run the periodic jobs until stopped (--once: run each once and exit).")
@click.option("--once", is_flag=True,
              help="Run every job once, then exit; the exit status is 1 if one failed.")
@click.option("--list", "list_jobs", is_flag=True, help="Print the jobs and their schedules.")
@with_appcontext
def scheduler_command(once: bool, list_jobs: bool) -> None:
    jobs = registry.JOBS
    if list_jobs:
        for job in jobs:
            click.echo(f"{job.name:<20} {job.schedule:<16} {job.description}")
        return
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # our own line says it all
    app = current_app._get_current_object()  # the real app: runs push their own contexts
    if once:
        runs = [run_job(app, job) for job in jobs]
        if any(run.outcome == "failed" for run in runs):
            raise SystemExit(1)
        return
    scheduler = build_scheduler(app, jobs)

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.shutdown(wait=False)  # running jobs finish before the process exits

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.getLogger(__name__).info("scheduler started: %s", ", ".join(j.name for j in jobs))
    scheduler.start()

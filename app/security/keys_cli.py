"""flask keys ..."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.types import keyring
from app.security import keys

keys_cli = AppGroup("keys", help="PHI encryption keys: make one, rotate to it, see where "
                                 "each key is used.")


@keys_cli.command("generate", help="Print a new key entry for PHI_ENCRYPTION_KEY.")
def generate() -> None:
    entry = keys.generate_key_entry()
    click.echo(entry)
    click.echo(
        "\nTo rotate to this key:\n"
        "  1. Put it FIRST in PHI_ENCRYPTION_KEY and keep the old keys after it, e.g.\n"
        f"     PHI_ENCRYPTION_KEY={entry.partition(':')[0]}:...,<old id>:...\n"
        "     in the secret manager every web, worker and scheduler process reads, then\n"
        "     restart them: new values are written with the new key from then on.\n"
        "  2. Run 'flask keys rotate' to re-encrypt existing values (safe to stop and re-run).\n"
        "  3. When 'flask keys status' shows no value under an old key, remove that key.\n"
        "Keep the key in the secret manager only: never in the repository, a ticket or a chat.\n"
        "PHI_INDEX_KEY is a different key and does not rotate this way.",
        err=True)


@keys_cli.command("rotate", help="Re-encrypt every PHI value under the current (first) key, "
                                 "one committed batch at a time; re-run to resume.")
@click.option("--batch-size", type=click.IntRange(min=1), default=500, show_default=True,
              help="Rows re-encrypted per transaction.")
@click.option("--max-batches", type=click.IntRange(min=1), default=None,
              help="Stop after this many batches (run again to go on).")
def rotate(batch_size: int, max_batches: int | None) -> None:
    current = keyring().current_id
    click.echo(f"Re-encrypting with key {current!r} in batches of {batch_size}.")

    def progress(column: keys.EncryptedColumn, done: int) -> None:
        click.echo(f"  {column.label}: {done} re-encrypted")

    try:
        result = keys.rotate(batch_size=batch_size, max_batches=max_batches, on_batch=progress)
    except keys.RotationRefused as refused:
        raise click.ClickException(str(refused)) from None
    tables: dict[str, int] = {}
    for label, count in result.rotated.items():
        table = label.partition(".")[0]
        tables[table] = tables.get(table, 0) + count
    for table, count in tables.items():
        click.echo(f"{table}: {count} value(s) re-encrypted")
    if result.finished:
        click.echo(f"Done: {result.total} value(s) re-encrypted; every value is now under key "
                   f"{current!r}.")
    else:
        click.echo(f"Stopped after {max_batches} batch(es): {result.total} value(s) "
                   "re-encrypted so far. Run 'flask keys rotate' again to finish.")


@keys_cli.command("status", help="Count stored values per key id for every encrypted column.")
def status() -> None:
    ring = keyring()
    click.echo(f"Current key: {ring.current_id}; configured: {', '.join(ring.keys)}")
    old = 0
    for label, counts in keys.key_status().items():
        shown = ", ".join(f"{key_id}={count}" for key_id, count in counts.items())
        click.echo(f"{label:32} {shown}")
        old += sum(count for key_id, count in counts.items() if key_id != ring.current_id)
    if old:
        click.echo(f"{old} value(s) are not under the current key: run 'flask keys rotate'.")
    else:
        click.echo("Every value is under the current key.")

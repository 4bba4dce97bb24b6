"""`make run`'s process launcher: start each command given (web server, worker, scheduler)
and stop them all on Ctrl-C, exiting 0.

Ctrl-C makes the terminal signal its whole foreground process group, make included, and
GNU make killed by SIGINT reports the recipe as failed ("make: *** [Makefile:..: run] Error
143"). So the commands run in a process group of their own that is made the terminal's
foreground group while they run: Ctrl-C reaches only them and this launcher, which stops
them, gives the terminal back and exits 0, and make finishes cleanly. Without a terminal
(a pipe, CI) SIGINT or SIGTERM to the launcher does the same.

    python scripts/serve.py "flask worker" "flask scheduler" "flask run --port 5000"

The exit status is 0 after Ctrl-C or SIGTERM, else the status of the first command that
ended on its own (a port already in use ends the web server, which stops the others).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import time

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _take_terminal() -> int | None:
    """Put this process in a new process group, the terminal's foreground one; return the
    terminal's descriptor (None without a terminal)."""
    os.setpgid(0, 0)
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        return None
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may ask
    try:
        os.tcsetpgrp(terminal, os.getpgrp())
    except OSError:
        os.close(terminal)
        return None
    finally:
        signal.signal(signal.SIGTTOU, previous)
    return terminal


def _give_back(terminal: int | None, group: int) -> None:
    if terminal is None:
        return
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    with contextlib.suppress(OSError):
        os.tcsetpgrp(terminal, group)
    signal.signal(signal.SIGTTOU, previous)
    os.close(terminal)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + 10
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main(commands: list[str]) -> int:
    if not commands:
        print("usage: serve.py COMMAND [COMMAND ...]", file=sys.stderr)
        return 2
    stopping: list[int] = []
    for number in STOP_SIGNALS:
        signal.signal(number, lambda signum, _frame: stopping.append(signum))
    original_group = os.getpgrp()
    terminal = _take_terminal()
    children = [subprocess.Popen(shlex.split(command)) for command in commands]
    status = 0
    try:
        while not stopping:
            ended = next((child for child in children if child.poll() is not None), None)
            if ended is not None:
                status = ended.returncode if ended.returncode >= 0 else 128 - ended.returncode
                break
            time.sleep(0.2)
    finally:
        _stop(children)
        _give_back(terminal, original_group)
    return 0 if stopping else status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""`make run` stops cleanly on Ctrl-C: every process it started ends and make exits 0 (it used
to print "make: *** [Makefile:22: run] Error 143")."""

from __future__ import annotations

import os
import pty
import select
import shutil
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FAKE_FLASK = """#!/bin/sh
case "$1" in
  worker|scheduler|run) echo "started $1 $*" >> "$FAKE_LOG"; exec sleep 120 ;;
esac
exit 0
"""


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_ctrl_c_stops_make_run_with_status_zero(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "flask").write_text(FAKE_FLASK)
    (bin_dir / "flask").chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    stamp = tmp_path / "stamp"
    stamp.touch()
    log = tmp_path / "started.log"
    pid, fd = pty.fork()
    if pid == 0:  # the child: make in a terminal of its own, as a user runs it
        os.chdir(ROOT)
        os.environ["FAKE_LOG"] = str(log)
        os.execvp("make", ["make", "run", f"BIN={bin_dir}", f"STAMP={stamp}", "PORT=5999"])
    output = _read_until(fd, b"Ctrl-C", 30)
    deadline = time.monotonic() + 20
    while (not log.exists() or log.read_text().count("started") < 3) \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    os.write(fd, b"\x03")  # Ctrl-C typed at the terminal
    output += _read_until(fd, b"\x00never", 20)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    started = log.read_text()
    assert "started run run --host 127.0.0.1 --port 5999" in started
    assert "started worker" in started and "started scheduler" in started
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, output.decode(errors="replace")
    assert b"Error" not in output and b"Interrupt" not in output

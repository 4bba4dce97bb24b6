#!/usr/bin/env bash
# Browser tests drive Debian's Chromium. Install it when missing (root on these machines).
set -u
if [ -x /usr/bin/chromium ]; then exit 0; fi
echo "Installing Debian's chromium for the browser tests..."
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq >/dev/null 2>&1 || true
if ! DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null 2>&1; then
  echo "WARNING: could not install chromium; browser tests will report it and fail." >&2
fi
exit 0

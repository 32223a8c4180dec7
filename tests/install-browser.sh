#!/usr/bin/env bash
# Installs Debian's Chromium and ChromeDriver for the HTML report's browser tests (tests/test_report.py), if
# they are missing. Needs root (or sudo); without it, says so and the browser tests skip with that reason.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO="sudo -n"
    else
        echo "tests/install-browser.sh: not root: install chromium and chromium-driver for the browser tests" >&2
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/install-browser.sh: no apt-get: install Chromium and ChromeDriver for the browser tests" >&2
    exit 0
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null

#!/usr/bin/env bash
# Install the Debian packages that grading, the tests and a shared gradebook need:
# - bubblewrap, the grading sandbox (nde_grader/kernel/sandbox.py), and util-linux (setpriv,
#   prlimit: usually there already);
# - Chromium for the browser test (tests/test_browser.py), driven with Python Playwright
#   (from requirements.txt); Playwright's own browser download is not used;
# - PostgreSQL's server (initdb, pg_ctl), which tests/test_engine.py starts on loopback.
#
# Idempotent and quiet: does nothing when the packages are already there.  Needs root,
# or sudo.  Usage: scripts/install_system.sh [--sandbox]   (--sandbox: bubblewrap only,
# what `make setup` asks for; without root or sudo it then says what is missing and
# goes on: `grade` refuses to start until the sandbox can run)
set -euo pipefail

# one install at a time (`make test` runs this beside `make setup`, which runs it too)
exec 9>"${TMPDIR:-/tmp}/nde-install-system.lock"
flock 9

packages=(bubblewrap util-linux)
if [ "${1:-}" != "--sandbox" ]; then
    packages+=(chromium chromium-driver fonts-dejavu-core fonts-liberation)
    # PostgreSQL: its server where no initdb is on the machine yet
    command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || packages+=(postgresql)
fi

missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
done

if [ ${#missing[@]} -gt 0 ]; then
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "install_system.sh: no apt-get here; install ${missing[*]} yourself (Chromium: set NDE_CHROMIUM to its path)" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if [ "${1:-}" = "--sandbox" ] && ! sudo -n true 2>/dev/null; then
            echo "install_system.sh: the grading sandbox needs ${missing[*]}: ask your administrator to install it" >&2
            exit 0
        fi
        command -v sudo >/dev/null 2>&1 || { echo "install_system.sh: run as root (or install sudo)" >&2; exit 1; }
        sudo="sudo"
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    echo "install_system.sh: installed ${missing[*]}"
fi

command -v bwrap >/dev/null 2>&1 || { echo "install_system.sh: bwrap is missing after the install" >&2; exit 1; }
[ "${1:-}" = "--sandbox" ] && exit 0
test -x /usr/bin/chromium || { echo "install_system.sh: /usr/bin/chromium is missing after the install" >&2; exit 1; }
/usr/bin/chromium --version 2>/dev/null | grep -q Chromium \
    || { echo "install_system.sh: /usr/bin/chromium does not run" >&2; exit 1; }

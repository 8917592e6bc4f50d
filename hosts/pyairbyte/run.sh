#!/usr/bin/env bash
# The PyAirbyte host tests: installs the pinned PyAirbyte (requirements.txt) into a venv under
# the target directory, then runs tests/ with pytest, offline. Run it through
# `cargo xtask hosts`, which builds the binaries and sets:
#   SOURCE_SLACK_AUDIT  the source-slack-audit executable under test
#   XTASK_BIN           the xtask executable (its `mock-serve` task is the loopback mock of Slack)
# Arguments are passed to pytest. PYTHON picks the interpreter the venv is made with.
#
# The venv is "${CARGO_TARGET_DIR:-<repo>/target}/pyairbyte-venv". It is reused while it was
# completely installed from the same pins with the same Python; otherwise it is rebuilt from
# scratch (about 2.5 minutes and 800 MB the first time).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${SOURCE_SLACK_AUDIT:?set by cargo xtask hosts: the source-slack-audit executable}"
: "${XTASK_BIN:?set by cargo xtask hosts: the xtask executable}"

target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
venv="$target/pyairbyte-venv"

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
fi
if ! "$python" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 12) else 1)'; then
    echo "hosts: PyAirbyte 0.71 needs Python 3.10 to 3.12; $python is $("$python" -V 2>&1)" >&2
    exit 1
fi

# What the venv was built from: the pins and the interpreter.
wanted="$(cat "$here/requirements.txt"; "$python" -c 'import sys; print(sys.version)')"
stamp="$venv/.installed-from"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "hosts: reusing $venv"
else
    echo "hosts: installing PyAirbyte into $venv (first time: a few minutes)…"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        -r "$here/requirements.txt"
    # Written last: an interrupted install is never reused.
    printf '%s' "$wanted" >"$stamp"
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/pyairbyte-hosts.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# Offline: no registry lookup, no telemetry; caches, logs and temp files in the work dir.
export AIRBYTE_OFFLINE_MODE=1 DO_NOT_TRACK=1
export AIRBYTE_PROJECT_DIR="$work" AIRBYTE_CACHE_ROOT="$work/cache"
export AIRBYTE_LOGGING_ROOT="$work/logs" AIRBYTE_TEMP_DIR="$work/tmp"
mkdir -p "$work/tmp"
export PYTHONDONTWRITEBYTECODE=1 PYTHONHASHSEED=0

cd "$work"
status=0
"$venv/bin/python" -m pytest -p no:cacheprovider -q "$here/tests" "$@" || status=$?
exit "$status"

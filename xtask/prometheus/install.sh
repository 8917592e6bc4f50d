#!/usr/bin/env bash
# Installs Debian's `prometheus` package (the `prometheus` server and `promtool`) for
# `cargo xtask prometheus`, unless both are already on the PATH. Needs root (or sudo) and
# Debian's package repositories; starts no service.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    echo "prometheus: already installed ($(promtool --version 2>&1 | head -n 1))"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    run() { "$@"; }
elif command -v sudo >/dev/null 2>&1; then
    run() { sudo "$@"; }
else
    echo "prometheus: promtool is missing and this user can neither install packages nor sudo" >&2
    exit 1
fi

echo "prometheus: installing Debian's prometheus package (apt-get install -y prometheus)…"
export DEBIAN_FRONTEND=noninteractive
run apt-get update -qq
run apt-get install -y -qq prometheus >/dev/null
echo "prometheus: installed ($(promtool --version 2>&1 | head -n 1))"

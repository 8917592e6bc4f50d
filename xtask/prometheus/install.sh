#!/usr/bin/env bash
# Installs Debian's `prometheus` package (the `prometheus` server and `promtool`) for
# `cargo xtask prometheus`, unless both are already on the PATH. Needs root (or sudo) and
# Debian's package repositories; starts no service.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../apt-install.sh"

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
    echo "prometheus: already installed ($(promtool --version 2>&1 | head -n 1))"
    exit 0
fi

apt_install prometheus "promtool is missing" "prometheus package" prometheus
echo "prometheus: installed ($(promtool --version 2>&1 | head -n 1))"

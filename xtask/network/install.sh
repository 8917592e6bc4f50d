#!/usr/bin/env bash
# Installs the real components of `cargo xtask network`:
#   - mitmproxy, pinned (requirements.txt), from PyPI into a venv under the target directory:
#     "${CARGO_TARGET_DIR:-<repo>/target}/mitmproxy-venv" (reused while it was completely
#     installed from the same pin with the same Python);
#   - Debian's squid package (a forward proxy), unless `squid` is already installed. Needs root
#     (or sudo) and Debian's repositories; the package starts no service here.
# Prints the venv's mitmdump path on its last line.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../apt-install.sh"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
venv="$target/mitmproxy-venv"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 10) else 1)'; then
    echo "network: mitmproxy 11.0 needs Python 3.10 or newer; $python is $("$python" -V 2>&1)" >&2
    exit 1
fi
wanted="$(cat "$here/requirements.txt"; "$python" -c 'import sys; print(sys.version)')"
stamp="$venv/.installed-from"
if [ -x "$venv/bin/mitmdump" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "network: reusing $venv" >&2
else
    echo "network: installing mitmproxy into $venv…" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    # Written last: an interrupted install is never reused.
    printf '%s' "$wanted" >"$stamp"
fi

if ! command -v squid >/dev/null 2>&1 && [ ! -x /usr/sbin/squid ]; then
    apt_install network "squid is missing" "squid package" squid
fi
echo "network: squid $( (squid -v 2>/dev/null || /usr/sbin/squid -v) | head -n 1)" >&2
echo "$venv/bin/mitmdump"

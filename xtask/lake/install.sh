#!/usr/bin/env bash
# Installs what `cargo xtask lake` runs: moto's S3 server, boto3, pyarrow, DuckDB and jsonschema,
# pinned (requirements.txt), from PyPI into a venv under the target directory:
# "${CARGO_TARGET_DIR:-<repo>/target}/lake-venv" (reused while it was completely installed from
# the same pins with the same Python). Prints the venv's python path on its last line.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
target="${CARGO_TARGET_DIR:-$repo/target}"
case "$target" in /*) ;; *) target="$repo/$target" ;; esac
venv="$target/lake-venv"

python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 9) else 1)'; then
    echo "lake: moto and pyarrow need Python 3.9 or newer; $python is $("$python" -V 2>&1)" >&2
    exit 1
fi
wanted="$(cat "$here/requirements.txt"; "$python" -c 'import sys; print(sys.version)')"
stamp="$venv/.installed-from"
if [ -x "$venv/bin/moto_server" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
    echo "lake: reusing $venv" >&2
else
    echo "lake: installing moto, boto3, pyarrow, duckdb and jsonschema into $venv…" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt" >&2
    # Written last: an interrupted install is never reused.
    printf '%s' "$wanted" >"$stamp"
fi
echo "$venv/bin/python"

#!/usr/bin/env bash
# Installs Debian's container tools for `cargo xtask image`: podman (builds the image from the
# Containerfile), skopeo (copies and inspects it), umoci (unpacks it into a root filesystem) and
# mmdebstrap (makes the base root filesystem from Debian's packages, as no container registry
# is reachable), unless they are all on the PATH already. Needs root (or sudo) and Debian's
# package repositories; starts no service.
set -euo pipefail
. "$(cd "$(dirname "$0")" && pwd)/../apt-install.sh"

tools=(podman skopeo umoci mmdebstrap)
missing=()
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -eq 0 ]; then
    echo "image: container tools already installed ($(podman --version), $(skopeo --version))"
    exit 0
fi

apt_install image "${missing[*]} missing" "${missing[*]}" podman buildah skopeo umoci mmdebstrap
echo "image: installed ($(podman --version), $(skopeo --version), umoci $(umoci --version 2>&1 | awk '{print $NF}'))"

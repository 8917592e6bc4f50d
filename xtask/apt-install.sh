# Sourced by xtask/{image,network,prometheus}/install.sh: installs Debian packages with apt-get,
# as root or through sudo, the one way all three tasks do it.
#
#   apt_install TASK MISSING DESCRIPTION PACKAGE...
#
# TASK prefixes its messages (`image: …`); MISSING says what is missing when this user can
# neither install packages nor sudo (then it exits 1); DESCRIPTION names what it installs.
# Everything it says goes to stderr (the network script keeps stdout for the path it prints
# last); apt-get's own output of the install is discarded.
apt_install() {
    local task="$1" missing="$2" description="$3"
    shift 3
    if [ "$(id -u)" -eq 0 ]; then
        run() { "$@"; }
    elif command -v sudo >/dev/null 2>&1; then
        run() { sudo "$@"; }
    else
        echo "$task: $missing and this user can neither install packages nor sudo" >&2
        exit 1
    fi
    echo "$task: installing Debian's $description (apt-get install -y $*)…" >&2
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -qq >&2
    run apt-get install -y -qq "$@" >/dev/null
}

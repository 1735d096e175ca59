#!/usr/bin/env bash
# Installs what Corix needs on a Debian 12 machine with Rust, starts the Docker engine if it is not
# running, builds everything in release mode and builds the desktop image. Sourced by `up` and `test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

step() { printf '\n==> %s\n' "$*" >&2; }

install_packages() {
    # docker.io: the engine; mmdebstrap: the image's Debian root; xvfb, xdotool, x11-utils: X tools the
    # agent's tests use on the host; chromium: the dashboard's browser test. Node and npm build the
    # dashboard; they are installed only when missing (any Node >= 20 will do).
    local wanted=(docker.io mmdebstrap xvfb xdotool x11-utils chromium)
    command -v npm >/dev/null 2>&1 || wanted+=(nodejs npm)
    local missing=()
    for pkg in "${wanted[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        step "installing ${missing[*]}"
        $SUDO apt-get update -q
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
}

start_docker() {
    if docker version >/dev/null 2>&1; then
        return
    fi
    step "starting dockerd"
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
        $SUDO systemctl start docker
    else
        $SUDO sh -c 'nohup dockerd >/var/log/corix-dockerd.log 2>&1 &'
    fi
    for _ in $(seq 1 60); do
        docker version >/dev/null 2>&1 && return
        sleep 1
    done
    echo "dockerd did not start; see /var/log/corix-dockerd.log" >&2
    exit 1
}

build() {
    step "building (release)"
    (cd "$ROOT" && cargo build --release --workspace --locked)
    step "building the dashboard (web/)"
    # Dependencies from the npm registry as web/package-lock.json pins them; served by `corix serve` from web/dist.
    (cd "$ROOT/web" && npm ci --no-audit --no-fund --loglevel=error && npm run build)
}

build_image() {
    step "building the desktop image"
    "$ROOT/target/release/corix" image build
}

prepare() {
    install_packages
    start_docker
    build
    build_image
}

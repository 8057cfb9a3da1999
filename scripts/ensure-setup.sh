#!/usr/bin/env bash
# Installs what wayvio needs on a Debian machine (Debian packages, npm packages, the addon and the JS), once.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(
  build-essential python3 pkg-config
  libwayland-dev wayland-protocols libxkbcommon-dev   # protocol XML for the scanner, headers for the test clients
  plasma-wayland-protocols                             # server-decoration.xml, which the generator golden test reads
  mousepad                                             # a GTK3 window without a header bar (server-side decorations)
  weston wayland-utils                                 # headless compositor, weston-* demo clients, wayland-info
  sway foot wl-clipboard                               # a compositor with a seat, a terminal, clipboard tools
  wtype fonts-dejavu-core                              # virtual keyboard client, a font for foot
  waypipe                                              # the peer the benchmark compares against
  qemu-system-x86 busybox-static                       # the VM test: a real QEMU guest with the guest proxy inside
)

missing=()
for p in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "wayvio setup: installing Debian packages: ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600 >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 "${missing[@]}" >&2
fi

# npm ci also builds the addon (node-gyp) and the JS (prepare); skip it when the lockfile has not changed.
stamp=node_modules/.wayvio-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp" || [ ! -f build/Release/wayvio_native.node ]; then
  echo "wayvio setup: npm ci" >&2
  npm ci --no-fund --no-audit >&2
  cp package-lock.json "$stamp"
else
  npm run --silent build >&2
fi

#!/usr/bin/env bash
# Installs the system packages Kiln needs on Debian/Ubuntu, then nothing else.
#   libopenblas0-pthread   OpenBLAS: the engine's fast sgemm path (Kiln still runs without it, slowly)
#   libturbojpeg0          libjpeg-turbo's TurboJPEG API: the photo path decodes JPEGs small and fast (optional)
#   dataset-fashion-mnist  the canonical Fashion-MNIST files in /usr/share/datasets/fashion-mnist
#   postgresql             PostgreSQL server binaries (initdb, pg_ctl): the tracking store's PostgreSQL tests start one
#   chromium               Debian's Chromium (/usr/bin/chromium): the web UI's end-to-end tests and bench:ui drive it
#   build-essential, python3  only when missing: to build better-sqlite3's native addon
#   prometheus, prometheus-node-exporter  promtool (config and alert-rule tests) and the real Prometheus and
#                          node-exporter the dashboard test starts on free ports; the packages' own services
#                          are not needed (on machines without systemd they simply do not start)
#   prometheus-alertmanager  amtool (check-config) and the real Alertmanager that
#                          src/observability/alertmanager.test.ts delivers an alert through
#   libvulkan1, mesa-vulkan-drivers (from bookworm-backports on Debian 12)  the Vulkan loader and Mesa's
#                          lavapipe (software Vulkan): the GPU path's tests (src/engine/gpu*) run WebGPU on it.
#                          Dawn refuses Debian 12's own Mesa 22 lavapipe, so Mesa >= 24 is installed from
#                          bookworm-backports (its apt source is added when missing). A real GPU needs its
#                          vendor's Vulkan driver instead (docs/gpu.md).
# Idempotent: packages already installed are not fetched again, and apt is not touched at all
# when everything is present. Runs as root or through sudo.
set -euo pipefail

packages=(libopenblas0-pthread dataset-fashion-mnist postgresql)
packages+=(libturbojpeg0)  # imaging/jpeg: photos decoded at DCT scale (Kiln falls back to sharp without it)
packages+=(chromium)  # the web UI's end-to-end tests (playwright-core drives /usr/bin/chromium)
packages+=(prometheus prometheus-node-exporter)  # promtool + the real Prometheus/node-exporter of src/observability/stack.test.ts
packages+=(prometheus-alertmanager)  # amtool + the real Alertmanager of src/observability/alertmanager.test.ts
packages+=("$@")
# better-sqlite3 compiles its native addon at npm install time when no prebuilt binary can be
# fetched (the usual case offline): it needs a C++ toolchain, make and python3.
command -v g++ >/dev/null 2>&1 && command -v make >/dev/null 2>&1 || packages+=(build-essential)
command -v python3 >/dev/null 2>&1 || packages+=(python3)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done

# Vulkan for the GPU path: lavapipe must be Mesa >= 24 (Dawn refuses Mesa 22's).
vulkan_missing=()
mesa_version=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
if ! dpkg-query -W -f='${Status}' mesa-vulkan-drivers 2>/dev/null | grep -q 'install ok installed' \
  || [ "${mesa_version%%.*}" -lt 24 ] 2>/dev/null; then
  vulkan_missing+=(mesa-vulkan-drivers libvulkan1)
elif ! dpkg-query -W -f='${Status}' libvulkan1 2>/dev/null | grep -q 'install ok installed'; then
  vulkan_missing+=(libvulkan1)
fi

if [ "${#missing[@]}" -eq 0 ] && [ "${#vulkan_missing[@]}" -eq 0 ]; then
  echo "setup-system: all system packages present (${packages[*]} libvulkan1 mesa-vulkan-drivers)"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: apt-get not found; install these packages with your system's package manager: ${missing[*]}" >&2
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo_cmd=(sudo); else
    echo "setup-system: need root to install ${missing[*]} (run as root or install sudo)" >&2
    exit 1
  fi
fi

backports_release=()
if [ "${#vulkan_missing[@]}" -gt 0 ] && [ "$(. /etc/os-release && echo "${VERSION_CODENAME:-}")" = bookworm ]; then
  # Debian 12's Mesa 22 lavapipe is refused by Dawn; bookworm-backports carries Mesa 25.
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "setup-system: adding the bookworm-backports apt source"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' \
      | "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/bookworm-backports.list >/dev/null
  fi
  backports_release=(-t bookworm-backports)
fi

echo "setup-system: installing ${missing[*]} ${vulkan_missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
if [ "${#missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ "${#vulkan_missing[@]}" -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${backports_release[@]}" "${vulkan_missing[@]}"
fi

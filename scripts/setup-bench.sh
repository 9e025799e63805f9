#!/usr/bin/env bash
# Installs what the PyTorch reference benchmark (bench/torch/train_epoch.py) needs.
#
# Idempotent: every package is checked first and apt is only touched when
# something is missing. The benchmark runs on Debian's system interpreter,
# /usr/bin/python3 (not whatever python3 comes first on PATH, e.g. pyenv's),
# because that is the interpreter python3-torch installs into.
set -euo pipefail

PYTHON=/usr/bin/python3
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
else
  SUDO=(sudo)
fi

missing=()
if [ ! -x "$PYTHON" ]; then
  missing+=(python3)
fi
# python3-torch pulls in python3-numpy, but the loader uses numpy directly,
# so check it on its own too.
if ! "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
  missing+=(python3-torch)
fi
if ! "$PYTHON" -c 'import numpy' >/dev/null 2>&1; then
  missing+=(python3-numpy)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-bench: nothing to install"
else
  echo "setup-bench: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

"$PYTHON" -c 'import numpy, torch; print("setup-bench: torch", torch.__version__, "numpy", numpy.__version__)'

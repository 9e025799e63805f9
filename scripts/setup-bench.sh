#!/usr/bin/env bash
# Installs what the PyTorch reference benchmarks need: bench/torch/train_epoch.py (bench:train)
# and the FastAPI + PyTorch serving baseline bench/serve/seed_api.py (bench:serve).
#
# Idempotent: every package is checked first and apt is only touched when
# something is missing. The benchmark runs on Debian's system interpreter,
# /usr/bin/python3 (not whatever python3 comes first on PATH, e.g. pyenv's),
# because that is the interpreter python3-torch installs into.
#
# `setup-bench.sh data` installs only what bench:data's baseline needs (bench/data/pillow_baseline.py:
# Pillow and NumPy, python3-pil and python3-numpy), without PyTorch.
set -euo pipefail

PYTHON=/usr/bin/python3
export DEBIAN_FRONTEND=noninteractive

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
else
  SUDO=(sudo)
fi

if [ "${1:-}" = data ]; then
  data_missing=()
  [ -x "$PYTHON" ] || data_missing+=(python3)
  "$PYTHON" -c 'import PIL' >/dev/null 2>&1 || data_missing+=(python3-pil)
  "$PYTHON" -c 'import numpy' >/dev/null 2>&1 || data_missing+=(python3-numpy)
  if [ "${#data_missing[@]}" -ne 0 ]; then
    echo "setup-bench: installing ${data_missing[*]} (bench:data's Pillow baseline)"
    "${SUDO[@]}" apt-get update
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${data_missing[@]}"
  fi
  "$PYTHON" -c 'import PIL, numpy; print("setup-bench: Pillow", PIL.__version__, "numpy", numpy.__version__)'
  exit 0
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

# The serving baseline (bench/serve/seed_api.py): FastAPI on uvicorn, python-multipart for
# UploadFile, Pillow for decoding, torchvision for ToTensor + Normalize. A failure to install
# these is not fatal: bench:serve then reports the baseline as null with the reason.
serve_missing=()
if ! "$PYTHON" -c 'import fastapi' >/dev/null 2>&1; then
  serve_missing+=(python3-fastapi)
fi
if ! "$PYTHON" -c 'import uvicorn' >/dev/null 2>&1; then
  serve_missing+=(python3-uvicorn)
fi
if ! "$PYTHON" -c 'import multipart' >/dev/null 2>&1; then
  serve_missing+=(python3-multipart)
fi
if ! "$PYTHON" -c 'import PIL' >/dev/null 2>&1; then
  serve_missing+=(python3-pil)
fi
if ! "$PYTHON" -c 'import torchvision' >/dev/null 2>&1; then
  serve_missing+=(python3-torchvision)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-bench: nothing to install"
else
  echo "setup-bench: installing ${missing[*]}"
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ "${#serve_missing[@]}" -ne 0 ]; then
  echo "setup-bench: installing ${serve_missing[*]} (serving baseline)"
  { "${SUDO[@]}" apt-get update && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${serve_missing[@]}"; } \
    || echo "setup-bench: could not install ${serve_missing[*]}"
fi

"$PYTHON" -c 'import numpy, torch; print("setup-bench: torch", torch.__version__, "numpy", numpy.__version__)'
# The serving baseline is optional for bench:train: report, do not fail.
"$PYTHON" -c 'import fastapi, uvicorn, multipart, PIL, torchvision; print("setup-bench: fastapi", fastapi.__version__, "uvicorn", uvicorn.__version__, "torchvision", torchvision.__version__)' \
  || echo "setup-bench: the FastAPI serving baseline is not importable (bench:serve reports it as null)"

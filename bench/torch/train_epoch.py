#!/usr/bin/env python3
"""PyTorch CPU reference for Kiln's training benchmark.

Times one full pass over the 60,000 Fashion-MNIST training samples
(batch 128, reshuffled every epoch, Adam lr 1e-3, cross-entropy) for:

  mlp  784 -> 128 -> 128 -> 128 -> 10, ReLU, dropout 0.2 after every hidden
       layer (the seed's model).
  cnn  conv3x3 32 'same' + ReLU + maxpool2 -> conv3x3 64 'same' + ReLU +
       maxpool2 -> flatten -> fc 128 + ReLU + dropout 0.2 -> fc 10.

Both models output logits; F.cross_entropy applies log-softmax + NLL in one
op, which is the same loss as log-softmax followed by negative log-likelihood.

Run it with Debian's interpreter (python3-torch lives there, see
scripts/setup-bench.sh):

  /usr/bin/python3 bench/torch/train_epoch.py --models mlp,cnn --threads 1,2

Data
  By default the real Fashion-MNIST training set is read from the IDX .gz
  files (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz) in
  --data-dir, or, without --data-dir, the first of
  /usr/share/datasets/fashion-mnist and <repo>/../shared/data/fashion-mnist
  that holds them. Pixels are normalized to (x/255 - 0.2860)/0.3530 and the
  whole set is held in memory as one float32 tensor of shape [60000,1,28,28]
  (the MLP views it as [N,784], no copy).

  --synthetic replaces it with random data of the same shape and dtype:
  uniform random pixels 0..255 normalized the same way and uniform random
  labels 0..9. The arithmetic per step is identical, so the timing is
  comparable, but there is nothing to learn: the loss stays near
  ln(10) ~= 2.303 instead of dropping, so use the real data to check
  correctness.

Measurement
  For every (model, threads) pair: the model is built from --seed, then a
  warm-up of --warmup steps (not timed) runs with a throwaway optimizer; the
  initial weights are then restored and a fresh Adam optimizer is created, so
  the timed epochs start from the same weights whatever the warm-up did.
  Each epoch (shuffle + all 469 batches, the last one holding 96 samples)
  is timed with time.perf_counter.

  torch.set_num_threads(T) does not reach OpenBLAS (which Debian's torch
  uses for the GEMMs in the linear layers): OpenBLAS keeps its own pool,
  sized to all cores. The script therefore also calls
  openblas_set_num_threads(T) when OpenBLAS is loaded, so "threads 1"
  really means one thread. The BLAS thread count seen is in the JSON.

Output
  Human-readable progress on stderr; the last line on stdout is one JSON
  object: {"torch_version": ..., "results": [{"model", "threads", "seconds",
  "samples_per_second", "loss", ...}, ...]}. "seconds" and "loss" are those
  of the last epoch; with --epochs > 1, "epoch_seconds" and "epoch_losses"
  list every epoch.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import ctypes.util
import gc
import gzip
import json
import os
import platform
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_TRAIN = 60_000
IMAGE_SIDE = 28
NUM_CLASSES = 10
MEAN = 0.2860
STD = 0.3530
BATCH_SIZE = 128
LEARNING_RATE = 1e-3
DROPOUT = 0.2

IMAGES_FILE = "train-images-idx3-ubyte.gz"
LABELS_FILE = "train-labels-idx1-ubyte.gz"
REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIRS = (
    Path("/usr/share/datasets/fashion-mnist"),
    REPO_ROOT.parent / "shared" / "data" / "fashion-mnist",
)

MODEL_NAMES = ("mlp", "cnn")
# Threading-related environment, echoed into the JSON when set (these change
# the numbers: e.g. OMP_WAIT_POLICY=passive stops idle OpenMP workers from
# spinning, which matters a lot on a 2-core machine).
THREAD_ENV = (
    "OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# Models


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(IMAGE_SIDE * IMAGE_SIDE, 128),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(128, 128),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(128, NUM_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, kernel_size=3, padding=1),  # 'same' for 3x3
            nn.ReLU(),
            nn.MaxPool2d(2),  # 28 -> 14
            nn.Conv2d(32, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14 -> 7
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, 128),
            nn.ReLU(),
            nn.Dropout(DROPOUT),
            nn.Linear(128, NUM_CLASSES),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def build_model(name: str) -> nn.Module:
    if name == "mlp":
        return MLP()
    if name == "cnn":
        return CNN()
    raise ValueError(f"unknown model {name!r}")


# --------------------------------------------------------------------------
# Data


def read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Reads a gzipped IDX file (unsigned-byte data) into a numpy array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4:
        raise ValueError(f"{path}: too short to be an IDX file")
    magic = struct.unpack(">I", raw[:4])[0]
    if magic != expected_magic:
        raise ValueError(f"{path}: IDX magic {magic:#x}, expected {expected_magic:#x}")
    ndim = magic & 0xFF
    dims = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise ValueError(f"{path}: {len(raw) - offset} data bytes, header says {count}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def find_data_dir(explicit: str | None) -> Path:
    candidates = [Path(explicit)] if explicit else list(DEFAULT_DATA_DIRS)
    for directory in candidates:
        if (directory / IMAGES_FILE).is_file() and (directory / LABELS_FILE).is_file():
            return directory
    tried = ", ".join(str(d) for d in candidates)
    raise SystemExit(
        f"train_epoch: no {IMAGES_FILE} + {LABELS_FILE} in {tried}; "
        "pass --data-dir or use --synthetic"
    )


def normalize(pixels: np.ndarray) -> torch.Tensor:
    x = torch.from_numpy(pixels.astype(np.float32))
    x.div_(255.0).sub_(MEAN).div_(STD)
    return x.reshape(-1, 1, IMAGE_SIDE, IMAGE_SIDE).contiguous()


def load_fashion_mnist(directory: Path) -> tuple[torch.Tensor, torch.Tensor]:
    images = read_idx(directory / IMAGES_FILE, 0x00000803)
    labels = read_idx(directory / LABELS_FILE, 0x00000801)
    if images.shape != (NUM_TRAIN, IMAGE_SIDE, IMAGE_SIDE) or labels.shape != (NUM_TRAIN,):
        raise ValueError(f"unexpected shapes: images {images.shape}, labels {labels.shape}")
    if labels.max() >= NUM_CLASSES:
        raise ValueError(f"label {labels.max()} out of range")
    return normalize(images), torch.from_numpy(labels.astype(np.int64))


def synthetic_data(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(NUM_TRAIN, IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8)
    labels = rng.integers(0, NUM_CLASSES, size=NUM_TRAIN, dtype=np.int64)
    return normalize(images), torch.from_numpy(labels)


# --------------------------------------------------------------------------
# Threads


class OpenBLAS:
    """Handle on OpenBLAS's thread pool, which torch.set_num_threads misses."""

    def __init__(self) -> None:
        self.lib = None
        self.path = None
        for name in self._loaded_candidates():
            try:
                lib = ctypes.CDLL(name)
                lib.openblas_set_num_threads  # noqa: B018 - raises if absent
                lib.openblas_get_num_threads.restype = ctypes.c_int
            except (OSError, AttributeError):
                continue
            self.lib, self.path = lib, name
            return

    @staticmethod
    def _loaded_candidates() -> list[str]:
        # Prefer the library actually mapped into this process (torch pulled
        # it in); dlopen of an already loaded path returns that same copy.
        seen: list[str] = []
        try:
            with open("/proc/self/maps", encoding="utf-8") as maps:
                for line in maps:
                    parts = line.split()
                    if len(parts) >= 6 and "blas" in os.path.basename(parts[-1]):
                        if parts[-1] not in seen:
                            seen.append(parts[-1])
        except OSError:
            pass
        # libopenblas*.so first: it is the one that defines the symbols.
        seen.sort(key=lambda p: 0 if "openblas" in os.path.basename(p) else 1)
        return seen

    def set_threads(self, n: int) -> None:
        if self.lib is not None:
            self.lib.openblas_set_num_threads(ctypes.c_int(n))

    def threads(self) -> int | None:
        return int(self.lib.openblas_get_num_threads()) if self.lib is not None else None


def set_threads(n: int, blas: OpenBLAS) -> None:
    torch.set_num_threads(n)
    blas.set_threads(n)


# --------------------------------------------------------------------------
# Training


def train_steps(model, optimizer, x, y, order, start, stop):
    """Runs the batches order[start:stop] in BATCH_SIZE steps; returns summed loss."""
    total = torch.zeros((), dtype=torch.float64)
    for begin in range(start, stop, BATCH_SIZE):
        idx = order[begin : min(begin + BATCH_SIZE, stop)]
        xb = x.index_select(0, idx)
        yb = y.index_select(0, idx)
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        # Summing on a tensor avoids a .item() sync per step (cheap on CPU
        # anyway, but keeps the loop close to what a GPU run would do).
        total += loss.detach() * idx.numel()
    return total


def run_one(model_name, threads, x, y, args, blas):
    set_threads(threads, blas)
    torch.manual_seed(args.seed)
    model = build_model(model_name)
    model.train()
    initial_state = copy.deepcopy(model.state_dict())
    n = x.shape[0]

    # Warm-up: a few untimed steps so lazy allocation, oneDNN primitive
    # creation and the thread pools are set up before timing starts.
    if args.warmup > 0:
        warm_opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
        warm_order = torch.randperm(n, generator=torch.Generator().manual_seed(args.seed + 1))
        train_steps(model, warm_opt, x, y, warm_order, 0, min(n, args.warmup * BATCH_SIZE))
        model.load_state_dict(initial_state)
        del warm_opt

    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    shuffle = torch.Generator().manual_seed(args.seed)
    torch.manual_seed(args.seed)  # dropout masks
    gc.collect()

    epoch_seconds: list[float] = []
    epoch_losses: list[float] = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(n, generator=shuffle)
        total = train_steps(model, optimizer, x, y, order, 0, n)
        elapsed = time.perf_counter() - start
        mean_loss = float(total) / n
        epoch_seconds.append(elapsed)
        epoch_losses.append(mean_loss)
        log(
            f"  {model_name:<3} threads={threads} epoch {epoch}/{args.epochs}: "
            f"{elapsed:7.2f} s  {n / elapsed:8.0f} samples/s  train loss {mean_loss:.4f}"
        )

    seconds = epoch_seconds[-1]
    return {
        "model": model_name,
        "threads": threads,
        "blas_threads": blas.threads(),
        "seconds": round(seconds, 4),
        "samples_per_second": round(n / seconds, 1),
        "loss": round(epoch_losses[-1], 5),
        "epochs": args.epochs,
        "epoch_seconds": [round(s, 4) for s in epoch_seconds],
        "epoch_losses": [round(v, 5) for v in epoch_losses],
        "parameters": sum(p.numel() for p in model.parameters()),
    }


# --------------------------------------------------------------------------
# CLI


def int_list(text: str) -> list[int]:
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"thread counts must be >= 1, got {text!r}")
    return values


def model_list(text: str) -> list[str]:
    values = [part.strip().lower() for part in text.split(",") if part.strip()]
    bad = [v for v in values if v not in MODEL_NAMES]
    if not values or bad:
        raise argparse.ArgumentTypeError(
            f"models must be among {','.join(MODEL_NAMES)}, got {text!r}"
        )
    return values


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Time one Fashion-MNIST training epoch in PyTorch (CPU reference).",
        epilog="Last stdout line is a JSON object; progress goes to stderr.",
    )
    parser.add_argument("--models", type=model_list, default=list(MODEL_NAMES),
                        help="comma-separated: mlp,cnn (default: both)")
    parser.add_argument("--threads", type=int_list, default=[1],
                        help="comma-separated thread counts, e.g. 1,2 (default: 1)")
    parser.add_argument("--epochs", type=positive_int, default=1,
                        help="timed epochs per (model, threads) (default: 1)")
    parser.add_argument("--warmup", type=non_negative_int, default=5,
                        help="untimed warm-up steps before timing (default: 5)")
    parser.add_argument("--seed", type=int, default=42, help="seed for init, shuffling, dropout")
    parser.add_argument("--data-dir", default=None,
                        help="folder with the Fashion-MNIST IDX .gz files "
                             "(default: /usr/share/datasets/fashion-mnist, "
                             "then <repo>/../shared/data/fashion-mnist)")
    parser.add_argument("--synthetic", action="store_true",
                        help="random data of the same shape instead of Fashion-MNIST "
                             "(timing only; loss stays near ln 10)")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.synthetic and args.data_dir:
        raise SystemExit("train_epoch: --synthetic and --data-dir exclude each other")

    blas = OpenBLAS()
    if args.synthetic:
        dataset, data_path = "synthetic", None
        x, y = synthetic_data(args.seed)
    else:
        directory = find_data_dir(args.data_dir)
        dataset, data_path = "fashion-mnist", str(directory.resolve())
        x, y = load_fashion_mnist(directory)

    log(
        f"torch {torch.__version__} on {platform.machine()}, {os.cpu_count()} cpus; "
        f"BLAS thread control: {blas.path or 'none (OpenBLAS not found)'}"
    )
    log(
        f"data: {dataset}{' from ' + data_path if data_path else ''}, x {tuple(x.shape)} "
        f"{x.dtype} (mean {x.mean():.3f}, std {x.std():.3f}), batch {BATCH_SIZE}, "
        f"Adam lr {LEARNING_RATE}, warm-up {args.warmup} steps"
    )

    results = []
    for model_name in args.models:
        for threads in args.threads:
            results.append(run_one(model_name, threads, x, y, args, blas))

    summary = {
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "dataset": dataset,
        "data_dir": data_path,
        "samples": int(x.shape[0]),
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "warmup_steps": args.warmup,
        "seed": args.seed,
        "cpu_count": os.cpu_count(),
        "blas_library": blas.path,
        "env": {k: os.environ[k] for k in THREAD_ENV if k in os.environ},
        "results": results,
    }
    sys.stdout.flush()
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

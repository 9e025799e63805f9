#!/usr/bin/env python3
"""FastAPI + PyTorch serving baseline for Kiln's `npm run bench:serve`.

A minimal rebuild of the seed's inference API (the seed's own code is not in
this repository; only its README and the figures in issue 5 are): the seed's
MLP, `POST /predict` taking an `UploadFile`, Pillow converting the upload to
grayscale 28x28, torchvision ToTensor + Normalize, softmax, and an answer of
the predicted class and its confidence. `/health` answers {"status": "ok"}.
Left out (the seed had them): Prometheus metrics, CORS, the static upload
page; they would make the baseline slower, not faster.

Model: 784 -> 128 -> 128 -> 128 -> 10, ReLU, dropout 0.2 after every hidden
layer (inactive: eval mode). Weights come from --state-dict (a PyTorch state
dict saved with torch.save) when given; otherwise they are randomly
initialised after torch.manual_seed(--seed) (default 42). The benchmark uses
the random initialisation: the arithmetic per request is the same whatever the
weights, so the timing is too.

Run it with Debian's interpreter (see scripts/setup-bench.sh):

  /usr/bin/python3 bench/serve/seed_api.py --port 8001 [--threads N]

uvicorn, one worker, one process: as the seed ran it.
"""

from __future__ import annotations

import argparse
import io

import torch
import torch.nn.functional as F
from fastapi import FastAPI, File, HTTPException, UploadFile
from PIL import Image
from torch import nn
from torchvision import transforms

CLASSES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]


class MLP(nn.Module):
    def __init__(self, hidden: int = 128, layers: int = 3, dropout: float = 0.2) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Flatten()]
        width = 28 * 28
        for _ in range(layers):
            blocks += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        blocks.append(nn.Linear(width, len(CLASSES)))
        self.net = nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


TRANSFORM = transforms.Compose(
    [
        transforms.ToTensor(),
        transforms.Normalize((0.2860,), (0.3530,)),
    ]
)


def build_app(model: nn.Module) -> FastAPI:
    app = FastAPI(title="Fashion-MNIST classifier (seed baseline)")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/predict")
    async def predict(image: UploadFile = File(...)) -> dict[str, object]:
        data = await image.read()
        if not data:
            raise HTTPException(status_code=400, detail="empty file")
        try:
            picture = Image.open(io.BytesIO(data)).convert("L").resize((28, 28))
        except Exception as error:  # noqa: BLE001 - any decoding failure is the client's
            raise HTTPException(status_code=400, detail=f"not an image: {error}") from error
        tensor = TRANSFORM(picture).unsqueeze(0)
        with torch.no_grad():
            probabilities = F.softmax(model(tensor), dim=1)[0]
        confidence, index = torch.max(probabilities, dim=0)
        return {
            "prediction": CLASSES[int(index)],
            "class_id": int(index),
            "confidence": float(confidence),
        }

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--state-dict", default=None, help="torch.save'd state dict of the MLP")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = MLP()
    if args.state_dict:
        model.load_state_dict(torch.load(args.state_dict, map_location="cpu"))
    model.eval()

    import uvicorn

    uvicorn.run(build_app(model), host=args.host, port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()

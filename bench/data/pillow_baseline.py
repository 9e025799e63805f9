"""bench:data's baseline: an ImageFolder of PNGs loaded the way a Python pipeline does it with
Pillow and NumPy (Image.open, convert('L'), np.asarray, stacked into one uint8 array).

Usage: python3 pillow_baseline.py <root>
Lists <root>/<class>/<file> (classes and files sorted, as Kiln does), loads every image and prints
one JSON line: images, seconds for the listing and for the whole load, shape and checksum.
"""
import json
import os
import sys
import time
import zlib

import numpy as np
from PIL import Image


def main() -> None:
    root = sys.argv[1]
    start = time.perf_counter()
    paths, labels = [], []
    for label, name in enumerate(sorted(e.name for e in os.scandir(root) if e.is_dir())):
        folder = os.path.join(root, name)
        for file in sorted(os.listdir(folder)):
            paths.append(os.path.join(folder, file))
            labels.append(label)
    listed = time.perf_counter()
    arrays = []
    for path in paths:
        with Image.open(path) as image:
            arrays.append(np.asarray(image.convert('L')))
    pixels = np.stack(arrays).astype(np.uint8, copy=False)
    y = np.asarray(labels, dtype=np.uint8)
    done = time.perf_counter()
    print(json.dumps({
        'images': len(paths),
        'list_s': listed - start,
        'seconds': done - start,
        'shape': list(pixels.shape),
        'labels': int(y.size),
        'crc32': zlib.crc32(pixels.tobytes()),
    }))


if __name__ == '__main__':
    main()

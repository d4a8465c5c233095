"""Benchmark: stamping 200 images with one exiftool process for the batch, against starting one
exiftool process per file (what a naive tool does), in one run.

    .venv/bin/python bench/images.py [--images 200]

Both paths use Adal's own code (``stamp_file``); the only difference is whether an
``attribution.media.ExifTool`` session is shared. A plain file copy of the same images is the
baseline for the batch throughput.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from PIL import Image

from attribution.media import ExifTool
from attribution.provenance import Provenance
from attribution.stamping import stamp_file

PROVENANCE = Provenance(service="Midjourney", model="v6", model_version="6.1", generation_date=date(2026, 11, 20),
                        responsible="А. Тестова", tasks=("иллюстрация",))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="adal-bench-images-"))
    try:
        sources = []
        for number in range(args.images):
            path = work / f"img-{number:03d}.jpg"
            Image.new("RGB", (640, 480), ((number * 37) % 256, 90, 160)).save(path, quality=85)
            sources.append(path)
        out = work / "out"
        out.mkdir()

        start = time.perf_counter()
        for src in sources:
            shutil.copyfile(src, out / src.name)
        copy = time.perf_counter() - start

        start = time.perf_counter()
        with ExifTool() as session:
            for src in sources:
                stamp_file(src, out / src.name, PROVENANCE, synthetic=True, exiftool=session)
        batch = time.perf_counter() - start

        start = time.perf_counter()
        for src in sources:
            stamp_file(src, out / src.name, PROVENANCE, synthetic=True)  # a new exiftool each time
        separate = time.perf_counter() - start

        count = len(sources)
        print(f"# {count} JPEG images 640x480, stamped with --synthetic")
        print(f"copy only:                 {copy / count * 1000:7.2f} ms/image")
        print(f"one exiftool for the batch: {batch / count * 1000:7.2f} ms/image  ({count / batch:6.1f} images/s)")
        print(f"one exiftool per file:      {separate / count * 1000:7.2f} ms/image")
        print(f"batch is {separate / batch:.1f}x faster than one process per file")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

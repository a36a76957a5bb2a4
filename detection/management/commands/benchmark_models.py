"""Measure detector latency and embedder throughput on this machine."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from PIL import Image

from detection import config
from detection.benchmark import detector_benchmark, embedder_benchmark, machine_description
from detection.detector import detector_load
from detection.embedder import Embedder


class Command(BaseCommand):
    help = ("Time the shipped detector (torch and ONNX Runtime) per photo and the embedder's "
            "throughput; prints Markdown rows for docs/benchmarks.md.")

    def add_arguments(self, parser):
        parser.add_argument("--photos", type=Path, required=True,
                            help="folder of JPEG photos, e.g. $FASHION_DATA/ccp/photos")
        parser.add_argument("--count", type=int, default=100)
        parser.add_argument("--batch-size", type=int, default=32)

    def handle(self, *args, photos, count, batch_size, **options):
        paths = sorted(photos.glob("*.jpg"))[:count]
        if not paths:
            raise CommandError(f"no .jpg photos in {photos}")
        images = [Image.open(path).convert("RGB") for path in paths]
        self.stdout.write(f"Machine: {machine_description()}; {len(images)} photos from {photos}")
        self.stdout.write("| measurement | value |\n|---|---|")
        for runtime in ("torch", "onnx"):
            timing = detector_benchmark(detector_load(runtime=runtime), images)
            self.stdout.write(f"| detector ({runtime}) at {config.IMGSZ} px, per photo | "
                              f"p50 {timing.p50_ms:.1f} ms, p95 {timing.p95_ms:.1f} ms |")
        for runtime in ("torch", "onnx"):
            embedder = Embedder.load(runtime=runtime)
            for size in (1, batch_size):
                rate = embedder_benchmark(embedder, images, size)
                self.stdout.write(f"| embedder ({runtime}), batches of {size}, end to end | "
                                  f"{rate:.1f} images/s |")

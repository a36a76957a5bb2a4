"""Load test: many shoppers against the production server (gunicorn) on loopback.

    FASHION_DATA=../shared/datasets make loadtest [USERS=50 DURATION=3m PRODUCTS=200]

Prepares a catalog in its own DATA_DIR (default var/loadtest; the import and the index
only process what changed, so re-runs reuse it), starts gunicorn in production mode
(DEBUG off) on 127.0.0.1 with the rate limits raised, runs locust headless with the
shoppers of tests/load/locustfile.py, samples the resident memory of gunicorn's
processes every few seconds, and prints and writes (to $DATA_DIR/loadtest-results/)
throughput, latency percentiles per endpoint, errors, and memory at start, peak and end.
Exit status 1 when any request failed.
"""

import argparse
import contextlib
import csv
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


def manage(*args: str, env: dict, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          **kwargs)


def catalog_prepare(env: dict, data: Path, products: int) -> list[str]:
    """Migrate, import and index `products` myntra products; return their skus."""
    manage("migrate", "--noinput", "-v", "0", env=env)
    manage("createcachetable", env=env)
    imported = subprocess.run([PYTHON, "manage.py", "import_catalog",
                               str(data / "myntra/catalog.csv"), "--limit", str(products)],
                              cwd=ROOT, env=env, capture_output=True, text=True)
    if imported.returncode not in (0, 1):  # 1: some rows skipped, the rest imported
        sys.exit(f"import failed:\n{imported.stdout}{imported.stderr}")
    manage("index", env=env)
    manage("collectstatic", "--noinput", "-v", "0", env=env)
    listing = manage("shell", "-c", "from search.models import ProductRegion\n"
                     "for sku in ProductRegion.objects.filter(position=0)"
                     ".values_list('product__sku', flat=True): print('sku', sku)",
                     env=env, capture_output=True, text=True)
    # shell also says what it imported; keep only our lines.
    return [line.split()[1] for line in listing.stdout.splitlines() if line.startswith("sku ")]


def server_wait(url: str, server: subprocess.Popen, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("gunicorn exited before it answered")
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    sys.exit(f"gunicorn did not answer {url} within {seconds} s")


def workers_warm_up(base: str, photos: list[Path], rounds: int = 6) -> None:
    """Load the models in every worker (lazily loaded on first use) before measuring."""
    boundary = "loadtestboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; "
            f"filename=\"outfit.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").encode() + \
        photos[0].read_bytes() + f"\r\n--{boundary}--\r\n".encode()

    def look(_):
        request = urllib.request.Request(
            f"{base}/api/search/image", data=body, method="POST",
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
        with urllib.request.urlopen(f"{base}/api/search?q=red+dress", timeout=300) as response:
            response.read()

    # Concurrent requests, so that they spread over the workers.
    with ThreadPoolExecutor(rounds) as pool:
        list(pool.map(look, range(rounds)))


class MemorySampler(threading.Thread):
    """Sum the RSS of the gunicorn master and its workers every `interval` seconds."""

    def __init__(self, pid: int, path: Path, interval: float = 5):
        super().__init__(daemon=True)
        self.master, self.path, self.interval = psutil.Process(pid), path, interval
        self.samples: list[tuple[float, int, float]] = []  # (seconds, workers, MiB)
        self.stop = threading.Event()

    def sample(self) -> None:
        processes = [self.master, *self.master.children(recursive=True)]
        rss = 0
        for process in processes:
            with contextlib.suppress(psutil.NoSuchProcess):  # a worker being recycled
                rss += process.memory_info().rss
        self.samples.append((time.monotonic(), len(processes) - 1, rss / 2**20))

    def run(self) -> None:
        start = time.monotonic()
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.interval)
        with open(self.path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["seconds", "workers", "rss_mib"])
            for moment, workers, mib in self.samples:
                writer.writerow([round(moment - start, 1), workers, round(mib, 1)])


def summary(stats_csv: Path, memory: MemorySampler, seconds: float) -> tuple[str, int]:
    """Return a markdown summary of locust's stats and the memory samples, and the failures."""
    with open(stats_csv, newline="") as handle:
        rows = list(csv.DictReader(handle))
    lines = ["| endpoint | requests | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |",
             "|---|---|---|---|---|---|---|---|"]
    failures = 0
    for row in rows:
        name = row["Name"] if row["Name"] != "Aggregated" else "**all**"
        lines.append(f"| {row['Type']} {name} | {row['Request Count']} | "
                     f"{row['Failure Count']} | {float(row['Requests/s']):.1f} | {row['50%']} | "
                     f"{row['95%']} | {row['99%']} | {float(row['Max Response Time']):.0f} |")
        if row["Name"] == "Aggregated":
            failures = int(row["Failure Count"])
    mib = [sample[2] for sample in memory.samples]
    workers = sorted({sample[1] for sample in memory.samples})
    lines += ["", f"gunicorn RSS (master + workers, sampled every {memory.interval:g} s): "
              f"start {mib[0]:.0f} MiB, peak {max(mib):.0f} MiB, end {mib[-1]:.0f} MiB; "
              f"worker processes seen: {workers}; run {seconds:.0f} s"]
    return "\n".join(lines), failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=int(os.environ.get("USERS", 50)))
    parser.add_argument("--spawn-rate", type=float, default=5)
    parser.add_argument("--duration", default=os.environ.get("DURATION", "3m"))
    parser.add_argument("--products", type=int, default=int(os.environ.get("PRODUCTS", 200)))
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--prepare-only", action="store_true",
                        help="import and index the catalog, then stop")
    args = parser.parse_args()
    if not os.environ.get("FASHION_DATA"):
        sys.exit("Set FASHION_DATA to the sample data sets (myntra catalog, ccp photos).")
    data = Path(os.environ["FASHION_DATA"]).resolve()
    data_dir = Path(os.environ.get("DATA_DIR", ROOT / "var/loadtest")).resolve()
    out = data_dir / "loadtest-results"
    out.mkdir(parents=True, exist_ok=True)
    unlimited = "1000000/min"
    env = dict(os.environ, DATA_DIR=str(data_dir), DEBUG="false",
               SECRET_KEY="loadtest-" + "k7#Qw9!zP2@xR5" * 4, ALLOWED_HOSTS="127.0.0.1",
               SECURE_SSL_REDIRECT="false",  # plain http on loopback, no TLS proxy in front
               RATE_LIMIT_LOOK=unlimited, RATE_LIMIT_SEARCH=unlimited,
               RATE_LIMIT_EVENTS=unlimited, BIND=f"127.0.0.1:{args.port}")
    env.pop("DATABASE_URL", None)

    skus = catalog_prepare(env, data, args.products)
    (out / "skus.txt").write_text("\n".join(skus))
    photos = sorted((data / "ccp/photos").glob("*.jpg"))[:40]
    (out / "photos.txt").write_text("\n".join(map(str, photos)))
    print(f"catalog: {len(skus)} indexed products; {len(photos)} outfit photos", flush=True)
    if args.prepare_only:
        return 0

    # The gunicorn process is a user of the embedded server too, so keep it up here.
    keeper = subprocess.Popen([PYTHON, "-c", "import django, os, time; "
                               "os.environ['DJANGO_SETTINGS_MODULE']='frontend.settings'; "
                               "django.setup(); print('up', flush=True); time.sleep(86400)"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    keeper.stdout.readline()
    with open(out / "gunicorn.log", "w") as log:
        server = subprocess.Popen([str(Path(PYTHON).parent / "gunicorn"),
                                   "frontend.wsgi:application", "-c", "frontend/gunicorn.conf.py",
                                   "--access-logfile", str(out / "access.log")],
                                  cwd=ROOT, env=env, stderr=log)
    base = f"http://127.0.0.1:{args.port}"
    try:
        server_wait(f"{base}/api/search?q=shirt", server)
        workers_warm_up(base, photos)
        load_before = os.getloadavg()[0]
        memory = MemorySampler(server.pid, out / "memory.csv")
        memory.start()
        started = time.monotonic()
        load = subprocess.run(
            [str(Path(PYTHON).parent / "locust"), "-f", str(ROOT / "tests/load/locustfile.py"),
             "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
             "--run-time", args.duration, "--host", base, "--csv", str(out / "locust"),
             "--only-summary", "--stop-timeout", "30"],
            cwd=ROOT, env=dict(env, LOADTEST_SKUS=str(out / "skus.txt"),
                               LOADTEST_PHOTOS=str(out / "photos.txt")))
        seconds = time.monotonic() - started
        memory.stop.set()
        memory.join()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
        keeper.kill()
        keeper.wait()
    report, failures = summary(out / "locust_stats.csv", memory, seconds)
    header = (f"{args.users} shoppers, {args.duration}, {len(skus)} indexed products, "
              f"locust exit status {load.returncode}; load average (1 min) before "
              f"{load_before:.1f}, after {os.getloadavg()[0]:.1f}")
    (out / "summary.md").write_text(header + "\n\n" + report + "\n")
    print(header, report, f"(written to {out})", sep="\n\n")
    return 1 if failures or load.returncode else 0


if __name__ == "__main__":
    sys.exit(main())

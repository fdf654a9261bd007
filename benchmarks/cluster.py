"""Zarr to Zarr on a dask.distributed cluster: time, bytes moved, worker memory.

    python benchmarks/cluster.py                  # 2 GiB store, LocalCluster 2 x 1 thread, 3 repeats
    python benchmarks/cluster.py --gib 4 --repeat 3 --memory-limit 4GiB
    python benchmarks/cluster.py --no-stealing    # the scheduler's work stealing off

A float32 (time, y, x) store (Zarr v3, zstd, 64x512x512 chunks, as
``benchmarks/zarr_io.py`` writes it) is differentiated along all three axes into a new
store on ``LocalCluster(n_workers=2, threads_per_worker=1, memory_limit=...)``, every
method on the same cluster, each from its own client process:

- ``copy3``: read every block once and write it three times, through bigrad's stream
  on the cluster's workers (the I/O floor: the gradient replaced by copies);
- ``bigrad``: ``bigrad.gradient_zarr(..., scheduler=address)``;
- ``bigrad graph``: ``bigrad.gradient`` of ``da.from_zarr`` stored with ``da.to_zarr``
  (the dask-graph path, as a user with a client would write it);
- ``dask``: ``dask.array.gradient`` of ``da.from_zarr`` stored with ``da.to_zarr``.

Per method: seconds (median over ``--repeat`` rounds of all methods in turn, after one
warm-up copy3 run; the previous output is deleted and ``sync`` waits for the disk
before each run), the ratio to copy3, the bytes moved between workers (the sum of the
workers' ``transfer_incoming_log`` records, distributed's own) and the bytes through
the client process (``rchar + wchar`` of ``/proc/self/io`` over the run: its sockets
to the scheduler, plus the small metadata it reads and writes), both as % of the
input, and whether any worker paused or was lost (the scheduler's events:
``worker-status-change`` to ``paused``, ``remove-worker``).  The largest single item
moved tells faces (a few MiB at most) from whole blocks (bigrad pins each compute to
the worker holding its block; the dask graphs are placed by the scheduler).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).parent)]  # this tree's bigrad; zarr_io

from zarr_io import make_store  # noqa: E402

METHODS = ("copy3", "bigrad", "bigrad graph", "dask")


def _client_io() -> int:
    # bytes this process read and wrote through system calls (sockets included)
    fields = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    return int(fields["rchar"]) + int(fields["wchar"])


def run_method(method: str, source: str, target: str, address: str) -> dict[str, float]:
    """Run ``method`` on the cluster at ``address``; seconds and client bytes."""
    import warnings

    warnings.simplefilter("ignore")
    import cloudpickle
    import dask
    import dask.array as da
    import zarr
    import zarr_io
    from distributed import Client

    import bigrad
    from bigrad.io.cluster import ClientRunner

    # the copy kernel is a lambda of zarr_io, which the workers cannot import
    cloudpickle.register_pickle_by_value(zarr_io)
    with Client(address) as client:
        threads = sum(client.nthreads().values())
        src = zarr.open_array(os.path.join(source, "T"), mode="r")
        io0, start = _client_io(), time.perf_counter()
        if method == "copy3":
            zarr_io._copy3(source, target, threads, runner=ClientRunner(client))
        elif method == "bigrad":
            bigrad.gradient_zarr(source, target, mode="w", scheduler=client)
        elif method in ("bigrad graph", "dask"):
            x = da.from_zarr(src)
            grads = da.gradient(x, axis=(0, 1, 2)) if method == "dask" else bigrad.gradient(x)
            stores = [
                da.to_zarr(g, target, component=f"d{i}", compute=False, compressors=src.compressors)
                for i, g in enumerate(grads)
            ]
            dask.compute(*stores)
        else:
            raise ValueError(method)
        seconds = time.perf_counter() - start
        moved_client = _client_io() - io0
    return {"seconds": seconds, "client": moved_client}


def _cluster_state(client: Any) -> dict[str, Any]:
    return {"workers": sorted(client.scheduler_info(n_workers=-1)["workers"]), "time": time.time()}


def _clear_transfers(client: Any) -> None:
    client.run(lambda dask_worker: dask_worker.transfer_incoming_log.clear())


def _moved_between_workers(client: Any) -> tuple[int, int, str]:
    """Bytes the workers received from each other, the largest item and its task."""
    logs = client.run(lambda dask_worker: list(dask_worker.transfer_incoming_log))
    items = [(n, str(k)) for log in logs.values() for e in log for k, n in e["keys"].items()]
    total = sum(e["total"] for log in logs.values() for e in log)
    largest, key = max(items, default=(0, "-"))
    return total, largest, key.split("-")[0].strip("('")


def _memory_events(client: Any, since: float, before: list[str]) -> list[str]:
    """Pauses and lost workers since ``since``, from the scheduler's events."""
    found = []
    for topic, events in client.get_events().items():
        for t, msg in events:
            if t < since or not isinstance(msg, dict):
                continue
            if msg.get("action") == "worker-status-change" and msg.get("status") == "paused":
                found.append(f"paused {topic}")
            if msg.get("action") == "remove-worker":
                found.append(f"lost {topic}")
    after = sorted(client.scheduler_info(n_workers=-1)["workers"])
    if after != before:
        found.append(f"workers changed: {before} -> {after}")
    return found


def measure(method: str, source: Path, target: Path, client: Any) -> dict[str, Any]:
    """Run one method from a fresh client process; time, bytes moved, memory events."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MALLOC_ARENA_MAX": "4"}
    address = client.scheduler.address
    cmd = [sys.executable, __file__, "--child", method, str(source), str(target), address]
    if target.exists():
        shutil.rmtree(target)
    os.sync()  # each run starts with no other run's writes still in flight (not timed)
    _clear_transfers(client)
    state = _cluster_state(client)
    result = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{result.stderr[-3000:]}")
    row = dict(json.loads(result.stdout.strip().splitlines()[-1]))
    row["workers"], row["largest"], row["largest_task"] = _moved_between_workers(client)
    row["events"] = _memory_events(client, state["time"], state["workers"])
    return row


def main(
    shape: tuple[int, int, int] = (512, 1024, 1024),
    chunks: tuple[int, int, int] = (64, 512, 512),
    n_workers: int = 2,
    memory_limit: str = "4GiB",
    repeat: int = 3,
    workdir: Path | None = None,
    methods: tuple[str, ...] = METHODS,
    stealing: bool = True,
) -> dict[str, dict[str, Any]]:
    """Write the store, run every method on one LocalCluster, print the table."""
    import dask
    from distributed import Client, LocalCluster

    tmp = Path(workdir or tempfile.mkdtemp(prefix="bigrad-cluster-"))
    source, target = tmp / "in.zarr", tmp / "out.zarr"
    make_store(source, shape, chunks)
    nbytes = 4 * shape[0] * shape[1] * shape[2]
    os.environ["PYTHONPATH"] = str(ROOT)  # the workers import this tree's bigrad
    # keep every transfer record of a run (distributed keeps the last 1000 by default)
    with (
        dask.config.set(
            {
                "distributed.admin.low-level-log-length": 1_000_000,
                "distributed.scheduler.work-stealing": stealing,
            }
        ),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        measure("copy3", source, target, client)  # warm-up: page cache, disk, imports
        runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
        for _ in range(repeat):
            for method in methods:
                runs[method].append(measure(method, source, target, client))
    rows = {
        method: {
            "seconds": statistics.median(r["seconds"] for r in rs),
            "workers_pct": 100 * max(r["workers"] for r in rs) / nbytes,
            "client_pct": 100 * max(r["client"] for r in rs) / nbytes,
            "client_mib": max(r["client"] for r in rs) / 2**20,
            "largest_mib": max(r["largest"] for r in rs) / 2**20,
            "largest_task": max(rs, key=lambda r: r["largest"])["largest_task"],
            "events": sorted({e for r in rs for e in r["events"]}),
        }
        for method, rs in runs.items()
    }
    floor = rows["copy3"]["seconds"] if "copy3" in rows else float("nan")
    print(
        f"store: {nbytes / 2**30:.2f} GiB float32 {shape}, chunks {chunks}, Zarr v3 zstd; "
        f"gradient along 3 axes\ncluster: LocalCluster {n_workers} worker processes x 1 "
        f"thread, memory_limit {memory_limit}, work stealing {'on' if stealing else 'off'}; "
        f"median of {repeat} after a warm-up"
    )
    print(
        f"{'method':<13} {'seconds':>8} {'x copy3':>8} {'between workers':>16} "
        f"{'largest item moved':>30} {'through client':>21}  paused/lost workers"
    )
    for method, row in rows.items():
        largest = f"{row['largest_mib']:.2f} MiB {row['largest_task']}"
        client_io = f"{row['client_mib']:.1f} MiB {row['client_pct']:.2f}%"
        print(
            f"{method:<13} {row['seconds']:8.1f} {row['seconds'] / floor:8.2f} "
            f"{row['workers_pct']:15.1f}% {largest:>30} {client_io:>21}  "
            f"{', '.join(row['events']) or 'none'}"
        )
    print(
        "(between workers, through client: the most of the repeats, % of the input's "
        f"size; a block is {4 * math.prod(chunks) / 2**20:.0f} MiB)"
    )
    if workdir is None:
        shutil.rmtree(tmp)
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        method, source, target, address = sys.argv[2:6]
        print(json.dumps(run_method(method, source, target, address)))
        sys.exit(0)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gib", type=float, default=2.0, help="store size (default 2 GiB)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--memory-limit", default="4GiB", help="per worker (default 4GiB)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-stealing", action="store_true", help="scheduler work stealing off")
    a = p.parse_args()
    n_time = max(64, round(a.gib * 2**30 / (4 * 1024 * 1024) / 64) * 64)
    main(
        (n_time, 1024, 1024),
        n_workers=a.workers,
        memory_limit=a.memory_limit,
        repeat=a.repeat,
        stealing=not a.no_stealing,
    )

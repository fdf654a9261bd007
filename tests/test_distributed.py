"""On a real dask.distributed LocalCluster of worker processes: the same numbers, only
faces move between workers, and a worker killed mid-run costs nothing but time."""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask.array as da
import numpy as np
import pytest

import bigrad
from bigrad.core.plan import plan_gradient
from bigrad.core.weights import StencilSpec
from tests.helpers import assert_matches_numpy, periodic_reference
from tests.zarr_helpers import contents, sample_dataset, write_store

distributed = pytest.importorskip("distributed")

#: seconds any wait on the cluster may take before the test fails instead of hanging
WAIT = 120


def _cluster() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, timeout=WAIT) as c,
    ):
        c.wait_for_workers(2, timeout=WAIT)
        yield c


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    yield from _cluster()


@pytest.fixture
def own_client() -> Iterator[Any]:
    """A cluster for one test that kills a worker: whether or not its nanny brings the
    worker back, no other test waits for it."""
    yield from _cluster()


def test_matches_numpy_on_cluster(client: Any) -> None:
    rng = np.random.default_rng(3)
    f = rng.standard_normal((9, 10, 12))
    lat = np.sort(rng.uniform(-80, 80, 10))
    lon = np.arange(0.0, 360.0, 30.0)
    d = da.from_array(f, chunks=((1, 2, 6), (5, 1, 4), (3, 3, 6)))
    got = bigrad.gradient(d, 2.0, da.from_array(lat, chunks=3), lon, edge_order=2,
                          periodic=2, period=360.0)  # fmt: skip
    expected = periodic_reference(f, (2.0, lat, lon), (0, 1, 2), 2, (2,), {2: 360.0})
    futures = client.compute(list(got))
    distributed.wait(futures, timeout=WAIT)
    computed = client.gather(futures)
    assert_matches_numpy(tuple(computed), expected)


def _slow(block: np.ndarray) -> np.ndarray:
    time.sleep(0.1)
    return block


# over ten seconds: with -m slow (test_zarr_lost_worker loses one in the main job)
@pytest.mark.slow
def test_lost_worker(own_client: Any) -> None:
    client = own_client
    f = np.random.default_rng(5).standard_normal((48, 20, 16))
    expected = bigrad.gradient(da.from_array(f, chunks=(2, 10, 8)), edge_order=2)
    expected = tuple(e.compute(scheduler="threads") for e in expected)
    slow = da.from_array(f, chunks=(2, 10, 8)).map_blocks(_slow, dtype=f.dtype)
    futures = client.compute(list(bigrad.gradient(slow, edge_order=2)))
    time.sleep(1.5)  # the run is under way: 96 blocks of 0.1 s on 2 workers
    assert not all(fut.done() for fut in futures)
    pid = next(iter(client.run(os.getpid).values()))
    os.kill(pid, signal.SIGKILL)
    # the surviving worker finishes the run even if the killed one never returns
    distributed.wait(futures, timeout=WAIT)
    results = client.gather(futures)
    for r, e in zip(results, expected, strict=True):
        np.testing.assert_array_equal(r, e)


def _transfers(client: Any) -> list[dict[str, Any]]:
    """Every transfer the workers received, from distributed's own records."""
    logs = client.run(lambda dask_worker: list(dask_worker.transfer_incoming_log))
    return [entry for log in logs.values() for entry in log]


def _clear_transfers(client: Any) -> None:
    client.run(lambda dask_worker: dask_worker.transfer_incoming_log.clear())


def test_zarr_on_cluster_moves_faces_only(client: Any, tmp_path: Path) -> None:
    # work stealing is on (distributed's default): computes are pinned to their block
    shape, chunks = (32, 48, 64), (16, 24, 32)
    ds = sample_dataset(shape).drop_vars(["q", "name", "area"])
    src = write_store(ds, tmp_path / "in.zarr", dict(zip(ds.T.dims, chunks, strict=True)))
    _clear_transfers(client)
    bigrad.gradient_zarr(src, tmp_path / "out.zarr", periodic="lon", scheduler=client)
    transfers = _transfers(client)
    bigrad.gradient_zarr(src, tmp_path / "local.zarr", periodic="lon")
    assert contents(tmp_path / "out.zarr") == contents(tmp_path / "local.zarr")

    keys = {k: n for entry in transfers for k, n in entry["keys"].items()}
    assert keys, "the two workers exchanged nothing: the test did not exercise transfers"
    # face bundles only: split off a read on its worker, or read alone
    assert all(str(k).startswith(("_faces_of-", "_read_faces-")) for k in keys), keys
    # the most faces can cost: every block fetching every bundle it reads from another
    # worker (one plane per side here), plus distributed's per-object size overhead
    lays = {a: StencilSpec(edge_order=1).layouts(shape[a], a == 2, True) for a in range(3)}
    plan = plan_gradient(shape, tuple((c, c) for c in chunks), lays)
    plane = {axis: 4 * math.prod(chunks) // chunks[axis] for axis in range(3)}
    bundle = {b: sum((f + la) * plane[a] for a, f, la in plan.faces(b)) for b in plan.blocks()}
    bound = sum(bundle[n] + 1024 for b in plan.blocks() for n in plan.halo_sources(b).neighbours)
    assert sum(entry["total"] for entry in transfers) <= bound
    assert max(keys.values()) < 4 * math.prod(chunks) / 4  # never a block, nor near one


def test_zarr_lost_worker(own_client: Any, tmp_path: Path) -> None:
    """A worker SIGKILLed a third of the way through a Zarr-to-Zarr run: the run
    completes, the target is byte-identical to the threaded run's."""
    client = own_client
    ds = sample_dataset((48, 9, 12))
    src = write_store(ds, tmp_path / "in.zarr", {"time": 2, "lat": 5, "lon": 5})
    victim, pid = next(iter(client.run(os.getpid).items()))
    killed = []

    def progress(done: int, total: int) -> None:
        if not killed and done >= total // 3:
            os.kill(pid, signal.SIGKILL)
            killed.append(done)

    bigrad.gradient_zarr(
        src, tmp_path / "out.zarr", periodic="lon", progress=progress, scheduler=client
    )
    assert killed
    # the worker did die mid-run, holding tasks or faces that had to be redone
    removed = [
        msg
        for _, msg in client.get_events(victim)
        if isinstance(msg, dict) and msg.get("action") == "remove-worker"
    ]
    assert removed and (removed[0]["processing-tasks"] or removed[0]["lost-computed-tasks"])
    bigrad.gradient_zarr(src, tmp_path / "local.zarr", periodic="lon")
    assert contents(tmp_path / "out.zarr") == contents(tmp_path / "local.zarr")


def test_winds_on_cluster(client: Any, tmp_path: Path) -> None:
    # u and v stacked per block, the metric hook and the unstacking target all travel to
    # the workers; the store is byte-identical to a local run's
    from tests.test_sphere_zarr import GLOBAL, winds

    src = write_store(winds(*GLOBAL), tmp_path / "in.zarr", {"time": 1, "lat": 4, "lon": 5})
    both = ["vorticity", "divergence"]
    bigrad.kinematics_zarr(src, tmp_path / "cluster.zarr", both, scheduler=client)
    bigrad.kinematics_zarr(src, tmp_path / "local.zarr", both)
    assert contents(tmp_path / "cluster.zarr") == contents(tmp_path / "local.zarr")

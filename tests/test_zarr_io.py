"""gradient_zarr on real stores on disk: values, layout, safety of source and target."""

from __future__ import annotations

import json
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import bigrad
from bigrad.io.stream import stream_gradient
from bigrad.io.zarr import STATUS_ATTR
from tests.zarr_helpers import contents, sample_dataset, snapshot, write_store

CHUNKINGS = {
    "ones": {"time": 1, "lat": 1, "lon": 1},
    "twos-short-last": {"time": 2, "lat": 2, "lon": 5},
    "mixed": {"time": 3, "lat": 9, "lon": 1},
}


def assert_close(got: xr.DataArray, expected: xr.DataArray) -> None:
    assert got.dims == expected.dims
    assert got.dtype == expected.dtype
    rtol = 2e-6 if got.dtype == np.float32 else 1e-12
    scale = float(np.nanmax(np.abs(expected.values))) or 1.0
    np.testing.assert_allclose(got.values, expected.values, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("zarr_format", [2, 3])
@pytest.mark.parametrize("chunking", list(CHUNKINGS), ids=list(CHUNKINGS))
@pytest.mark.parametrize("edge_order", [1, 2])
def test_equals_xarray_differentiate(
    tmp_path: Path, zarr_format: int, chunking: str, edge_order: int
) -> None:
    # chunks of one: a smaller array, so as not to spend the test run on per-block costs
    ds = sample_dataset((3, 4, 5) if chunking == "ones" else (7, 9, 12))
    src = write_store(ds, tmp_path / "in.zarr", CHUNKINGS[chunking], zarr_format)
    out = bigrad.gradient_zarr(src, tmp_path / "out.zarr", edge_order=edge_order)
    assert sorted(out.data_vars) == sorted(["dT_dtime", "dT_dlat", "dT_dlon", "dq_dlat", "dq_dlon"])
    for var in ("T", "q"):
        for dim in ds[var].dims:
            expected = ds[var].differentiate(dim, edge_order=edge_order)
            assert_close(out[f"d{var}_d{dim}"], expected)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_periodic_selection_and_layout(tmp_path: Path, zarr_format: int) -> None:
    ds = sample_dataset()
    src = write_store(ds, tmp_path / "in.zarr", CHUNKINGS["twos-short-last"], zarr_format)
    out = bigrad.gradient_zarr(
        src, tmp_path / "out.zarr", variables="T", dims=["lat", "lon"], periodic="lon"
    )
    assert sorted(out.data_vars) == ["dT_dlat", "dT_dlon"]
    expected = ds.bigrad.gradient(dims=["lat", "lon"], variables="T", periodic="lon")
    for name in out.data_vars:
        assert_close(out[name], expected[name])
        assert out[name].attrs == expected[name].attrs
    assert out.dT_dlon.attrs["units"] == "K degrees_east-1"
    # dims, dimension coordinates, chunking and compressor of the source
    src_arr = zarr.open_array(src / "T", mode="r")
    dst_arr = zarr.open_array(tmp_path / "out.zarr" / "dT_dlon", mode="r")
    assert dst_arr.chunks == src_arr.chunks
    assert dst_arr.compressors == src_arr.compressors
    for c in ("time", "lat", "lon"):
        np.testing.assert_array_equal(out[c].values, ds[c].values)
    assert out.attrs == {"title": "sample"}  # no trace of the run left
    # metadata consolidated: the store opens from consolidated metadata alone
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        group = zarr.open_consolidated(tmp_path / "out.zarr", zarr_format=zarr_format)
    assert {"dT_dlat", "dT_dlon"} <= set(group.array_keys())


def test_decoded_values_and_int_source(tmp_path: Path) -> None:
    # a packed int16 variable with a fill value: differentiated as xarray decodes it
    ds = sample_dataset()
    ds["T"].encoding = {"dtype": "int16", "scale_factor": 0.01, "add_offset": 280.0,
                        "_FillValue": -32768}  # fmt: skip
    ds["T"][0, 0, 0] = np.nan
    src = write_store(ds, tmp_path / "in.zarr", CHUNKINGS["twos-short-last"])
    out = bigrad.gradient_zarr(src, tmp_path / "out.zarr", variables=["T"], dims="lat")
    decoded = xr.open_zarr(src).T.load()
    assert_close(out.dT_dlat, decoded.differentiate("lat"))


def test_source_untouched(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["mixed"])
    before = snapshot(src)
    bigrad.gradient_zarr(src, tmp_path / "out.zarr")
    bigrad.gradient_zarr(src, tmp_path / "out.zarr", mode="w")
    assert snapshot(src) == before


def test_same_or_nested_store_refused(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["mixed"])
    before = snapshot(src)
    for target in (src, tmp_path / "in.zarr" / "sub", tmp_path, f"file://{src}"):
        with pytest.raises(ValueError, match="same store or one holds the other"):
            bigrad.gradient_zarr(src, target, mode="w")
    assert snapshot(src) == before


def test_modes(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["mixed"])
    target = tmp_path / "out.zarr"
    bigrad.gradient_zarr(src, target, variables="q")
    first = snapshot(target)
    with pytest.raises(FileExistsError, match="already exists"):
        bigrad.gradient_zarr(src, target)
    assert snapshot(target) == first
    # a finished target: resume is a no-op success; another job's: refused
    out = bigrad.gradient_zarr(src, target, variables="q", mode="resume")
    assert "dq_dlat" in out and snapshot(target) == first
    with pytest.raises(FileExistsError, match="not an unfinished bigrad run"):
        bigrad.gradient_zarr(src, target, variables="T", mode="resume")
    out = bigrad.gradient_zarr(src, target, variables="T", mode="w")
    assert "dq_dlat" not in out and "dT_dlat" in out
    # mode="w" never wipes a directory that is not a Zarr store
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(FileExistsError, match="not a Zarr store"):
        bigrad.gradient_zarr(src, precious, mode="w")
    assert (precious / "thesis.tex").read_text() == "years of work"
    with pytest.raises(ValueError, match="mode must be one of"):
        bigrad.gradient_zarr(src, tmp_path / "x.zarr", mode="a")  # type: ignore[arg-type]


def test_clear_errors_before_any_work(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["mixed"])
    target = tmp_path / "out.zarr"
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "notes.txt").write_text("hello")
    for fmt in (2, 3):  # one bare array, no group: no names or dims for the outputs
        bare = zarr.create_array(tmp_path / f"bare{fmt}.zarr", shape=(4, 4), dtype="f8",
                                 zarr_format=fmt)  # fmt: skip
        bare[:] = 1.0
    cases = [
        (tmp_path / "missing.zarr", {}, FileNotFoundError, "does not exist"),
        (tmp_path / "plain", {}, ValueError, "is not a Zarr store"),
        (tmp_path / "bare2.zarr", {}, ValueError, "single Zarr array, not a group"),
        (tmp_path / "bare3.zarr", {}, ValueError, "single Zarr array, not a group"),
        (src, {"variables": "nope"}, ValueError, "nope"),
        (src, {"dims": "height"}, ValueError, "height"),
        (src, {"variables": []}, ValueError, "variables is empty"),
        (src, {"dims": []}, ValueError, "dims is empty"),
        (src, {"variables": "name"}, TypeError, "numbers only"),
        (src, {"variables": "q", "dims": "time"}, ValueError, "none of the requested"),
        (src, {"edge_order": 3}, ValueError, "edge_order"),
        (src, {"periodic": "time", "dims": "time"}, ValueError, "period"),
    ]
    for source, kwargs, error, match in cases:
        with pytest.raises(error, match=match):
            bigrad.gradient_zarr(source, target, **kwargs)  # type: ignore[arg-type]
        assert not target.exists(), (source, kwargs)


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_pickled_objects_refused(tmp_path: Path, zarr_format: int) -> None:
    ds = sample_dataset()
    src = write_store(ds, tmp_path / "in.zarr", CHUNKINGS["mixed"], zarr_format)
    # forge a member whose metadata asks for pickled objects (as a hostile store would)
    bad = src / "evil"
    bad.mkdir()
    if zarr_format == 2:
        doc = {"zarr_format": 2, "shape": [1], "chunks": [1], "dtype": "|O", "order": "C",
               "fill_value": None, "compressor": None, "filters": [{"id": "pickle"}]}  # fmt: skip
        (bad / ".zarray").write_text(json.dumps(doc))
    else:
        doc = json.loads((src / "q" / "zarr.json").read_text())
        doc["codecs"] = [*doc["codecs"], {"name": "numcodecs.pickle"}]
        (bad / "zarr.json").write_text(json.dumps(doc))
    (bad / "0").write_bytes(pickle.dumps(object()))
    with pytest.raises(ValueError, match="pickle"):
        bigrad.gradient_zarr(src, tmp_path / "out.zarr")
    assert not (tmp_path / "out.zarr").exists()


def test_incomplete_target_says_so(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["mixed"])
    target = tmp_path / "out.zarr"
    calls = []

    def stop_halfway(done: int, total: int) -> None:
        calls.append(done)
        if done == total // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bigrad.gradient_zarr(src, target, progress=stop_halfway, threads=1)
    with pytest.raises(bigrad.IncompleteStoreError, match=r"incomplete.*mode='resume'"):
        bigrad.open_gradient(target)
    assert xr.open_zarr(target, consolidated=False).attrs[STATUS_ATTR].startswith("incomplete")
    with pytest.raises(ValueError, match="different job"):
        bigrad.gradient_zarr(src, target, mode="resume", dims="lat")
    # what a write killed between zarr's temporary file and its rename leaves behind
    (target / "dT_dlat" / f"stray.{'0' * 32}.partial").write_bytes(b"torn")
    done_before = []
    out = bigrad.gradient_zarr(
        src, target, mode="resume", progress=lambda d, t: done_before.append(d)
    )
    assert done_before[0] > 0  # the blocks written before the stop were skipped
    assert STATUS_ATTR not in out.attrs
    assert not (target / ".bigrad").exists()
    fresh = tmp_path / "fresh.zarr"
    bigrad.gradient_zarr(src, fresh)
    assert contents(target) == contents(fresh)


def test_small_memory_budget_reads_some_blocks_twice(tmp_path: Path) -> None:
    ds = sample_dataset((12, 10, 8))
    src = write_store(ds, tmp_path / "in.zarr", {"time": 2, "lat": 3, "lon": 3})
    out_big = bigrad.gradient_zarr(src, tmp_path / "a.zarr", memory=2**30)
    out_small = bigrad.gradient_zarr(src, tmp_path / "b.zarr", memory=1)
    assert contents(tmp_path / "a.zarr") == contents(tmp_path / "b.zarr")
    assert_close(out_small.dT_dtime, out_big.dT_dtime)
    # the stream itself: with room for one block, faces are read ahead separately
    from bigrad.core.weights import StencilSpec
    from bigrad.io.zarr import _Axes, _plan_variable, _Reader, _select

    source = xr.open_zarr(src)
    spec = StencilSpec(edge_order=1)
    _, spacings, _ = _select(source, "T", None, spec, _Axes(None, None, None))
    reader = xr.open_dataset(src, engine="zarr", chunks=None, cache=False)
    job = _plan_variable(reader.T.variable, "T", spacings, spec, (2, 3, 3))
    group = zarr.open_group(tmp_path / "a.zarr", mode="r+")
    targets = [group[o] for o in job.outputs]
    n_blocks = int(np.prod(job.plan.numblocks))
    reads_big = stream_gradient(_Reader(reader.T.variable), targets, job.plan, job.rules)
    reads_small = stream_gradient(
        _Reader(reader.T.variable), targets, job.plan, job.rules, budget=1, threads=1
    )
    assert reads_big == n_blocks < reads_small


def test_fsspec_url(tmp_path: Path) -> None:
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["twos-short-last"])
    shutil.copytree(src, tmp_path / "copy.zarr")
    out = bigrad.gradient_zarr(f"file://{tmp_path / 'copy.zarr'}", f"file://{tmp_path}/o.zarr")
    assert "dT_dlat" in out
    mem = bigrad.gradient_zarr(src, "memory://bigrad-test/out.zarr", variables="q")
    assert_close(mem.dq_dlon, sample_dataset().q.differentiate("lon"))


def test_distributed_scheduler(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    src = write_store(sample_dataset(), tmp_path / "in.zarr", CHUNKINGS["twos-short-last"])
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        out = bigrad.gradient_zarr(
            src, tmp_path / "out.zarr", periodic="lon", scheduler=cluster.scheduler_address
        )
    bigrad.gradient_zarr(src, tmp_path / "local.zarr", periodic="lon")
    assert contents(tmp_path / "out.zarr") == contents(tmp_path / "local.zarr")
    assert "dT_dlon" in out


def test_sharded_source_keeps_shards(tmp_path: Path) -> None:
    ds = sample_dataset()
    write_store(
        ds, tmp_path / "in.zarr", None, encoding={"T": {"chunks": (1, 3, 4), "shards": (2, 9, 12)}}
    )
    out = bigrad.gradient_zarr(tmp_path / "in.zarr", tmp_path / "out.zarr", variables="T")
    arr = zarr.open_array(tmp_path / "out.zarr" / "dT_dlat", mode="r")
    assert arr.chunks == (1, 3, 4) and arr.shards == (2, 9, 12)
    assert_close(out.dT_dlat, ds.T.differentiate("lat"))


def test_uncompressed_target_in_memory_is_not_aliased(tmp_path: Path) -> None:
    # without a compressor zarr's in-memory store keeps a view of the array written:
    # the stream must not reuse its output buffers there
    ds = sample_dataset()
    encoding = {v: {"chunks": (1, 3, 4), "compressors": None} for v in ds.data_vars}
    write_store(ds, tmp_path / "in.zarr", None, encoding=encoding)
    out = bigrad.gradient_zarr(tmp_path / "in.zarr", "memory://bigrad-raw/out.zarr", variables="T")
    assert zarr.open_array(tmp_path / "in.zarr" / "T", mode="r").compressors == ()
    for dim in ds.T.dims:
        assert_close(out[f"dT_d{dim}"], ds.T.differentiate(dim))

"""Stores: Zarr to Zarr in bounded memory (:mod:`bigrad.io.zarr`), the block stream, the
target's safety (lock, resume marks, source record), errors, and the executors (local
threads, dask.distributed)."""

"""Where :func:`bigrad.gradient_zarr` runs its tasks: local threads or a dask.distributed cluster.

``scheduler`` is one of:

- ``None``: local threads, no cluster;
- ``"local:N"``: a ``LocalCluster`` of ``N`` worker processes (one thread each), started
  here and closed when the run ends;
- an address such as ``"tcp://host:8786"``: a client of that scheduler, closed when the
  run ends (the cluster stays up);
- a ``distributed.Client``: used as it is and left open.

On a cluster the stream's tasks go through ``Client.submit``.  A face read's future is
handed to the compute tasks that need it as an argument, so distributed moves the faces
from the worker that read them straight to the worker that uses them; this process
only submits, waits and records progress, and never receives array data::

    client:    submit faces(b) ----------> submit compute(b, [faces futures])
    worker A:  faces(b) -> bundle (kept)           |
    worker B:                      <- bundle ------+  compute(b): reads block b itself

``distributed`` is imported here only, and only when a cluster is asked for: the rest of
bigrad works without it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from bigrad._stream import TaskRunner

__all__ = ["ClientRunner", "check_scheduler", "open_runner", "parse_local"]

#: ``scheduler="local:N"``: a LocalCluster of N worker processes started for the run
LOCAL_PREFIX = "local:"


def parse_local(scheduler: str) -> int | None:
    """The number of workers of a ``"local:N"`` scheduler, ``None`` for an address.

    >>> parse_local("local:4"), parse_local("tcp://10.0.0.1:8786")
    (4, None)
    """
    if not scheduler.startswith(LOCAL_PREFIX):
        return None
    text = scheduler[len(LOCAL_PREFIX) :]
    if not text.isdigit() or int(text) < 1:
        raise ValueError(
            f"scheduler {scheduler!r}: write local:N with N >= 1 worker processes, e.g. local:4"
        )
    return int(text)


def check_scheduler(scheduler: Any) -> None:
    """Refuse a malformed ``scheduler`` before any work starts."""
    if scheduler is None:
        return
    if isinstance(scheduler, str):
        parse_local(scheduler)
        return
    from distributed import Client

    if not isinstance(scheduler, Client):
        raise TypeError(
            "scheduler must be None, 'local:N', a scheduler address or a "
            f"distributed.Client, got {type(scheduler).__name__}"
        )


class ClientRunner:
    """Tasks on a dask.distributed cluster; results stay on the workers as futures."""

    holds_blocks = False

    def __init__(self, client: Any) -> None:
        self._client = client

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Any:
        # pure=False: every submit is a new task, even with equal arguments (a face
        # read done again after a budget stall must not alias the first one)
        return self._client.submit(fn, *args, pure=False)

    def wait(self, futures: Iterable[Any]) -> set[Any]:
        from distributed import wait

        done, _ = wait(list(futures), return_when="FIRST_COMPLETED")
        return set(done)

    def handle(self, future: Any) -> Any:
        if future.status in ("error", "cancelled"):
            future.result()  # raises the task's error here
        return future

    def cancel(self, futures: Iterable[Any]) -> None:
        self._client.cancel(list(futures))


@contextlib.contextmanager
def open_runner(scheduler: Any, threads: int | None) -> Iterator[tuple[TaskRunner | None, int]]:
    """The runner for ``scheduler`` (``None``: the stream's local threads) and the number
    of tasks to keep in flight; a cluster or client started here is closed on exit."""
    if scheduler is None:
        yield None, threads or os.cpu_count() or 1
        return
    from distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if isinstance(scheduler, Client):
            client = scheduler
        else:
            n_workers = parse_local(scheduler)
            if n_workers is not None:
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=n_workers,
                        threads_per_worker=1,
                        processes=True,
                        dashboard_address=None,
                    )
                )
                scheduler = cluster.scheduler_address
            client = stack.enter_context(Client(scheduler, timeout="20s"))
        yield ClientRunner(client), threads or sum(client.nthreads().values()) or 1

"""Where :func:`bigrad.gradient_zarr` runs its tasks: local threads or a dask.distributed cluster.

``scheduler`` is one of:

- ``None``: local threads, no cluster;
- ``"local:N"``: a ``LocalCluster`` of ``N`` worker processes (one thread each), started
  here and closed when the run ends;
- an address such as ``"tcp://host:8786"``: a client of that scheduler, closed when the
  run ends (the cluster stays up);
- a ``distributed.Client``: used as it is and left open.

On a cluster the stream's tasks go through ``Client.submit`` and their results stay on
the workers.  A block read ahead is split on the worker that read it into the block and
its faces; the block's compute task must run there (a strict restriction, so that work
stealing cannot move it and its block; resubmitted anywhere if that worker leaves), and
takes its neighbours' face futures as arguments, so distributed moves only those faces
between workers.  This process submits, waits and
records progress, and never receives array data::

    client:    submit read(b) --> split on W: block(b), faces(b) --> submit compute(b) on W
    worker W:  read(b) -> block, faces            compute(b)(block, [faces of neighbours])
    worker V:  faces of a neighbour n ------------------------^  (only faces travel)

Only a lost worker makes a block travel: its blocks are read again where the
scheduler recomputes them.

``distributed`` is imported here only, and only when a cluster is asked for: the rest of
bigrad works without it.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from bigrad.core.errors import Arg, argument_error, literal
from bigrad.io.errors import ClusterError
from bigrad.io.stream import TaskRunner

__all__ = ["ClientRunner", "check_scheduler", "open_runner", "parse_local"]

#: ``scheduler="local:N"``: a LocalCluster of N worker processes started for the run
LOCAL_PREFIX = "local:"
#: seconds to reach a scheduler's port, then to complete the client's handshake: a
#: wrong address is reported within their sum (30 s)
CONNECT_TIMEOUT_S = 10
HANDSHAKE_TIMEOUT_S = 20


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


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a ``tcp://`` scheduler address whose port does not answer, at once.

    A plain TCP connection first: distributed's client retries a refused connection
    until its timeout and logs each retry, where this fails in one line.

    Raises
    ------
    ClusterError
        The host is unknown, or nothing listens on the port.
    """
    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme not in ("tcp", "tls") or parts.hostname is None:
        return  # another transport (ucx, inproc): the client's own timeout applies
    try:
        port = parts.port or 8786
        with socket.create_connection((parts.hostname, port), timeout=timeout):
            pass
    except (OSError, ValueError) as e:
        why = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or "timed out"
        text = f"scheduler {address} is unreachable ({why}); start it or fix the address given to "
        raise argument_error(
            ClusterError, literal(text) + "{scheduler}", scheduler=Arg("scheduler")
        ) from None


def _connect(address: str, stack: contextlib.ExitStack) -> Any:
    """A client of the scheduler at ``address``, within the two timeouts or not at all.

    The handshake runs in a daemon thread with a deadline of its own: distributed's
    ``timeout`` bounds the connection, not the handshake, and a port that accepts but
    never answers (something else listening there, a scheduler wedged) would otherwise
    hold the run forever.
    """
    import threading

    from distributed import Client

    check_reachable(address)
    made: dict[str, Any] = {}

    def make() -> None:
        try:
            made["client"] = Client(address, timeout=f"{HANDSHAKE_TIMEOUT_S}s")
        except BaseException as e:
            made["error"] = e

    thread = threading.Thread(target=make, name="bigrad-connect", daemon=True)
    thread.start()
    thread.join(HANDSHAKE_TIMEOUT_S)
    error = made.get("error")
    if "client" in made:
        return stack.enter_context(made["client"])
    why = f"{type(error).__name__}: {error}" if error is not None else "no answer"
    text = (
        f"cannot connect to the scheduler {address} ({why} after {HANDSHAKE_TIMEOUT_S} s); "
        "is it a dask.distributed scheduler? check "
    )
    raise argument_error(ClusterError, literal(text) + "{scheduler}", scheduler=Arg("scheduler"))


def _lost(error: BaseException) -> ClusterError | None:
    """The cluster-side failures, as one :class:`ClusterError`; ``None`` for a task's own
    error (raised as it is)."""
    name = type(error).__name__
    if name == "KilledWorker":
        return ClusterError(
            f"workers died again and again running one task ({error}); they may lack "
            "memory or crash on the data: see the workers' logs"
        )
    if name in ("CommClosedError", "CancelledError", "FutureCancelledError"):
        return ClusterError(
            f"the dask.distributed scheduler stopped or lost this client ({name}: {error}); "
            "finish the run with --mode resume once the cluster is back"
        )
    return None


class ClientRunner:
    """Tasks on a dask.distributed cluster; results stay on the workers as futures."""

    def __init__(self, client: Any) -> None:
        self._client = client
        #: the workers holding each block split off a read, until its compute is submitted
        self._home: dict[str, list[str]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, near: Any = None) -> Any:
        # pure=False: every submit is a new task, even with equal arguments (a face
        # read done again after a budget stall must not alias the first one)
        home = self._home.pop(near.key, None) if near is not None else None
        if home is None:
            return self._client.submit(fn, *args, pure=False)
        # a strict restriction: work stealing would otherwise move a queued compute, and
        # its whole block, to an idle worker; if that worker leaves, wait() resubmits
        task = _Pinned(fn, args, home)
        task.future = self._client.submit(
            fn, *args, pure=False, workers=home, allow_other_workers=False
        )
        return task

    def wait(self, futures: Iterable[Any]) -> set[Any]:
        from distributed import wait

        tasks = list(futures)
        while True:
            by_future = {_future(t): t for t in tasks}
            try:
                done, _ = wait(list(by_future), timeout=2, return_when="FIRST_COMPLETED")
            except TimeoutError:
                if self._client.status in ("closing", "closed", "failed"):
                    raise ClusterError(
                        f"lost the dask.distributed scheduler ({self._client.status}); "
                        "finish the run with --mode resume once the cluster is back"
                    ) from None
                self._rehome(tasks)
                continue
            return {by_future[f] for f in done}

    def _rehome(self, tasks: list[Any]) -> None:
        """Resubmit, anywhere, pinned tasks whose worker left the cluster (a strictly
        restricted task would otherwise wait for it forever)."""
        pinned = [t for t in tasks if isinstance(t, _Pinned) and not t.future.done()]
        if not pinned:
            return
        alive = set(self._client.nthreads())
        for task in pinned:
            if alive.isdisjoint(task.home):
                self._client.cancel([task.future])
                task.future = self._client.submit(task.fn, *task.args, pure=False)
                task.home = list(alive)

    def handle(self, future: Any) -> Any:
        future = _future(future)
        if future.status in ("error", "cancelled"):
            try:
                future.result()  # raises the task's error here
            except BaseException as e:
                lost = _lost(e)
                if lost is not None:
                    raise lost from e
                raise
        return future

    def split(self, future: Any) -> tuple[Any, Any]:
        self.handle(future)
        # two tasks on the worker that read the block, so the block and its faces are
        # separate results: a neighbour's compute then fetches the faces alone
        home = self._client.who_has([future]).get(future.key) or None
        block, faces = (
            self._client.submit(part, future, pure=False, workers=home,
                                allow_other_workers=home is not None)
            for part in (_block_of, _faces_of)
        )  # fmt: skip
        if home:
            self._home[block.key] = list(home)
        return block, faces

    def cancel(self, futures: Iterable[Any]) -> None:
        self._client.cancel([_future(f) for f in futures])


class _Pinned:
    """A task submitted to the worker holding its block, and how to submit it again."""

    __slots__ = ("args", "fn", "future", "home")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], home: list[str]) -> None:
        self.fn, self.args, self.home = fn, args, home
        self.future: Any = None


def _future(task: Any) -> Any:
    return task.future if isinstance(task, _Pinned) else task


def _block_of(read: tuple[Any, Any]) -> Any:
    return read[0]


def _faces_of(read: tuple[Any, Any]) -> Any:
    return read[1]


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
            client = _connect(scheduler, stack)
        yield ClientRunner(client), threads or sum(client.nthreads().values()) or 1

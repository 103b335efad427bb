"""EWS reads made by worker processes, so that reading Exchange's answers uses more than one core.

exchangelib is synchronous pure Python: writing a request, parsing its answer and mapping the items cost about as
much CPU as everything else the connector does for a mailbox, and all of it runs under one interpreter lock. With
``workers`` (config.json), the reads of the EWS entries' mailboxes (:meth:`read_window`, :meth:`initial_items`,
:meth:`sync_changes`) are made by that many worker processes, each with an :class:`EwsProvider` of its own for
every EWS entry; they return the provider-neutral records (pickled) or the provider's error. The connector's
process keeps everything else: the streaming notifications (Subscribe and GetStreamingEvents, whose subscriptions
its streams hold), the engine, the store, the API.

The service account's budget (``maxConcurrency``, what Exchange counts across all its clients) stays one budget:
an operating-system semaphore per account that the sessions of every process take a slot of around each HTTP
exchange. A worker's log records are handed to the connector's process and written by its handlers; its request
counts reach the connector's metrics with each answer. Until a worker is ready the reads are made in the
connector's process (:class:`WorkerPool`). A worker that dies fails its calls in flight with
:class:`WorkerStoppedError` (transient: the engine retries them with back-off) and is started again a little later;
the connector's process going away ends its workers (they read the end of their request pipe).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import itertools
import logging
import logging.handlers
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
import types
import weakref
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from tc_calendar.metrics import Metrics
from tc_calendar.providers._ews_session import EndpointSettings
from tc_calendar.providers.base import MailboxNotification, ProviderError, TransientError
from tc_calendar.providers.pool import current_lane, lane
from tc_calendar.records import RemoteItem, SyncBatch, WindowSnapshot
from tc_calendar.sync.window import SyncWindow, WindowRead

if TYPE_CHECKING:
    from tc_calendar.providers.ews import EwsProvider

log = logging.getLogger(__name__)

MAX_WORKERS = 4
"""The default's ceiling: past a few processes the engine, the store and Exchange's budget are the limit."""

STOP_WAIT_SECONDS = 10.0
"""How long a stopping worker may take to close its connections before it is killed."""

RESTART_DELAY_SECONDS = 5.0
"""How long after a worker died it is started again, at the earliest."""

_READY = -1
"""The call id of the message a worker sends once it can take reads."""

_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()
"""The pools not closed yet: ended at the program's exit (:meth:`WorkerPool.end_at_exit`)."""


@atexit.register
def _end_pools_at_exit() -> None:
    # Registered after multiprocessing's own exit handler (multiprocessing.connection, imported above, registers
    # it), so it runs before it.
    for pool in list(_POOLS):
        pool.end_at_exit()


_CONTEXT = multiprocessing.get_context("spawn")
"""A fresh interpreter per worker: forking a process that runs threads (the pools, the event loop) is unsafe."""


def default_workers(cpu_count: int | None = None) -> int:
    """Worker processes when config.json names none: one per core beyond the first (that one runs the engine and
    the store), at most :data:`MAX_WORKERS`; none on one core."""
    cores = cpu_count if cpu_count is not None else _usable_cores()
    return max(0, min(MAX_WORKERS, cores - 1))


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container's cpuset sets it), not the host's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class WorkerStoppedError(TransientError):
    """An EWS worker process ended while it was reading a mailbox; the read is retried, by a new worker."""


@dataclass(frozen=True)
class EndpointSpec:
    """One EWS entry as a worker rebuilds its provider."""

    endpoint: EndpointSettings
    credentials: tuple[tuple[str, str], ...]
    """The service accounts' logins and passwords."""
    budgets: tuple[Any, ...]
    """One ``multiprocessing`` semaphore per service account: the account's slots, shared by every process."""


@dataclass(frozen=True)
class WorkerSpec:
    """What a worker process is started with (pickled into it)."""

    endpoints: tuple[EndpointSpec, ...]
    options: dict[str, Any]
    """Keyword options of :class:`EwsProvider` (tests shorten timings)."""
    log_records: Any
    """A ``multiprocessing`` queue the worker's log records go to."""
    log_levels: dict[str, int]
    """The connector's logger levels (``""``: the root logger), so a worker drops what the connector would."""

    @property
    def budgets(self) -> list[Any]:
        """Every service account's budget, entry after entry."""
        return [budget for endpoint in self.endpoints for budget in endpoint.budgets]


# ------------------------------------------------------------------------------------------- the connector's side


class EwsWithWorkers:
    """An EWS provider whose reads are made by worker processes (see the module's docstring)."""

    window_bound_checkpoint = False
    notifies_subscriptions = True

    def __init__(self, local: EwsProvider, workers: WorkerPool, index: int) -> None:
        self._local = local
        self._workers = workers
        self._index = index

    def throttle_key(self, mailbox: str) -> str:
        return self._local.throttle_key(mailbox)

    def credential_key(self, mailbox: str) -> str:
        return self._local.credential_key(mailbox)

    def partition(self, mailboxes: Sequence[str]) -> list[list[str]]:
        return self._local.partition(mailboxes)

    async def read_window(self, mailbox: str, window: SyncWindow, sync_state: str | None) -> WindowSnapshot:
        snapshot: WindowSnapshot = await self._read("read_window", mailbox, window, sync_state)
        return snapshot

    async def initial_items(self, mailbox: str, read: WindowRead) -> AsyncIterator[RemoteItem]:
        items: list[RemoteItem] = await self._read("initial_items", mailbox, read)
        for item in items:
            yield item

    async def sync_changes(self, mailbox: str, sync_state: str | None) -> SyncBatch:
        batch: SyncBatch = await self._read("sync_changes", mailbox, sync_state)
        return batch

    async def _read(self, method: str, *args: Any) -> Any:
        """``method(*args)`` by the ready worker with the fewest reads in flight, else by this process's provider
        (:func:`provider_call`, as a worker calls it)."""
        worker = self._workers.ready_worker()
        if worker is None:
            return await provider_call(self._local, method, args)
        return await worker.call(self._index, method, args)

    def watch(self, mailboxes: Sequence[str]) -> AsyncIterator[MailboxNotification]:
        return self._local.watch(mailboxes)

    @property
    def worker_pids(self) -> list[int]:
        """The process ids of the workers ready for reads."""
        return self._workers.pids

    @property
    def started_pids(self) -> list[int]:
        """The process ids of the workers started, ready or not yet."""
        return self._workers.started_pids

    async def aclose(self) -> None:
        try:
            await self._workers.release()
        finally:
            await self._local.aclose()


def ews_with_workers(
    endpoints: Sequence[tuple[EndpointSettings, Sequence[tuple[str, str]]]],
    workers: int,
    *,
    metrics: Metrics | None = None,
    options: dict[str, Any] | None = None,
    restart_delay: float = RESTART_DELAY_SECONDS,
) -> list[EwsWithWorkers]:
    """The EWS providers of ``endpoints`` (endpoint, service accounts), whose reads ``workers`` worker processes
    make; each service account's budget is shared by all processes."""
    from tc_calendar.providers.ews import EwsProvider

    options = dict(options or {})
    specs = tuple(
        EndpointSpec(endpoint, tuple(credentials),
                     tuple(_CONTEXT.BoundedSemaphore(endpoint.max_concurrency) for _ in credentials))
        for endpoint, credentials in endpoints
    )  # fmt: skip
    pool = WorkerPool(WorkerSpec(specs, options, _CONTEXT.Queue(), _logger_levels()), workers, metrics=metrics,
                      users=len(specs), restart_delay=restart_delay)  # fmt: skip
    return [
        EwsWithWorkers(
            EwsProvider(spec.endpoint, spec.credentials, metrics=metrics, budgets=spec.budgets, **options), pool, index
        )
        for index, spec in enumerate(specs)
    ]


class WorkerPool:
    """``size`` worker processes; a read goes to the ready one with the fewest reads in flight.

    The workers start at the first read (a connector whose sync never starts, paused by its licence say, starts
    none). A worker is ready once it has built its providers (a new interpreter importing exchangelib: about half
    a second); until one is (at the start, or while a worker that died or could not be started is replaced), the
    reads are made in the connector's own process, so that a start or a dying worker never holds them up. A
    worker that died is started again at a read :data:`RESTART_DELAY_SECONDS` later at the earliest, so that one
    which cannot start does not cost a process per read.
    """

    def __init__(
        self,
        spec: WorkerSpec,
        size: int,
        *,
        metrics: Metrics | None = None,
        users: int = 1,
        restart_delay: float = RESTART_DELAY_SECONDS,
    ) -> None:
        """``users``: the providers sharing the pool; the workers stop when the last of them is closed."""
        if size < 1:
            raise ValueError(f"an EWS worker pool needs at least one worker, got {size}")
        self._spec = spec
        self._metrics = metrics
        self._users = users
        self._workers = [_Worker(index, spec, self._count, restart_delay) for index in range(size)]
        self._logs: threading.Thread | None = None  # writes the workers' log records, from the first start on
        self._closed = False
        _POOLS.add(self)

    def ready_worker(self) -> _Worker | None:
        """The ready worker with the fewest reads in flight, None if none is ready (workers that are due to start
        are started now)."""
        if self._closed:
            raise ProviderError("the EWS provider is closed")
        ready = None
        for worker in self._workers:
            if worker.due_to_start():
                if self._logs is None:
                    self._logs = threading.Thread(target=_write_logs, args=(self._spec.log_records,), daemon=True,
                                                  name="tc-ews-worker-logs")  # fmt: skip
                    self._logs.start()
                worker.start(asyncio.get_running_loop())
            if worker.ready and (ready is None or worker.in_flight < ready.in_flight):
                ready = worker
        return ready

    @property
    def pids(self) -> list[int]:
        """The process ids of the workers ready for reads."""
        return [worker.pid for worker in self._workers if worker.ready and worker.pid is not None]

    @property
    def started_pids(self) -> list[int]:
        return [worker.pid for worker in self._workers if worker.pid is not None]

    def _count(self, counts: Sequence[tuple[str, str, int]]) -> None:
        if self._metrics is not None:
            for operation, result, n in counts:
                self._metrics.ews_requests.labels(operation=operation, result=result).inc(n)

    async def release(self) -> None:
        """One provider sharing the pool is closed; the last one stops the workers."""
        self._users -= 1
        if self._users <= 0:
            await self.aclose()

    def end_at_exit(self) -> None:
        """The program is exiting without having closed the pool: end the workers' request pipes, so that they
        stop by themselves (multiprocessing then waits for them, without a timeout, and they ignore SIGTERM)."""
        self._closed = True
        for worker in self._workers:
            worker.end_requests()

    async def aclose(self) -> None:
        """Stop the workers (each closes its connections; killed after :data:`STOP_WAIT_SECONDS`)."""
        _POOLS.discard(self)
        if self._closed:
            return
        self._closed = True
        await asyncio.gather(*(worker.stop() for worker in self._workers))
        if self._logs is not None:
            self._spec.log_records.put(None)
            await asyncio.to_thread(self._logs.join, STOP_WAIT_SECONDS)


class _Worker:
    """One worker process: a pipe each way, a thread writing requests and one reading answers."""

    def __init__(self, index: int, spec: WorkerSpec, count: Any, restart_delay: float) -> None:
        self.index = index
        self.ready = False
        self._spec = spec
        self._count = count
        self._restart_delay = restart_delay
        self._start_after = 0.0  # time.monotonic(): when the worker may be started (again)
        self._ids = itertools.count()
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._process: Any = None
        self._held: Any = None
        self._outbox: queue.SimpleQueue[tuple[Any, ...] | None] = queue.SimpleQueue()

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def due_to_start(self) -> bool:
        return self._process is None and time.monotonic() >= self._start_after

    async def call(self, provider: int, method: str, args: tuple[Any, ...]) -> Any:
        """``method(*args)`` of this worker's provider for EWS entry ``provider``, in the caller's pool lane;
        raises what the provider raised."""
        loop = asyncio.get_running_loop()
        call_lane = current_lane()
        call_id = next(self._ids)
        future: asyncio.Future[Any] = loop.create_future()
        self._pending[call_id] = future
        self._outbox.put((call_id, provider, method, args, call_lane))
        try:
            return await future
        finally:
            self._pending.pop(call_id, None)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the worker process; if it cannot be started (no memory, no process left), log why and try again
        :data:`RESTART_DELAY_SECONDS` later (meanwhile the reads are made in the connector's process)."""
        try:
            self._spawn(loop)
        except Exception as exc:
            self._start_after = time.monotonic() + self._restart_delay
            log.warning("EWS worker process %d could not be started (%s: %s); the reads are made in the "
                        "connector's process meanwhile", self.index, type(exc).__name__, exc)  # fmt: skip

    def end_requests(self) -> None:
        self._outbox.put(None)

    def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        requests_in, requests_out = _CONTEXT.Pipe(duplex=False)
        answers_in, answers_out = _CONTEXT.Pipe(duplex=False)
        held = _CONTEXT.Array("i", len(self._spec.budgets), lock=False)
        process = _CONTEXT.Process(
            target=serve, args=(requests_in, answers_out, self._spec, held), daemon=True,
            name=f"EWS worker process {self.index}",
        )  # fmt: skip
        with _main_module_left_out():
            process.start()
        requests_in.close()
        answers_out.close()
        self._process = process
        self._held = held
        self._outbox = queue.SimpleQueue()
        log.info("EWS worker process %d started (pid %d)", self.index, process.pid)
        threading.Thread(target=_send_requests, args=(self._outbox, requests_out), daemon=True,
                         name=f"tc-ews-worker-{self.index}-out").start()  # fmt: skip
        threading.Thread(target=self._read_answers, args=(process, answers_in, loop), daemon=True,
                         name=f"tc-ews-worker-{self.index}-in").start()  # fmt: skip

    def _read_answers(self, process: Any, answers: Connection, loop: asyncio.AbstractEventLoop) -> None:
        """The reading thread: settle each call's future on the loop; when the pipe ends, the worker is gone."""
        while True:
            try:
                answer = answers.recv()
            except (EOFError, OSError):
                break
            except Exception as exc:  # the answer's frame itself unreadable: which call it settles is unknown
                log.error("EWS worker process %d sent an unreadable answer: %s", self.index, exc)
                continue
            try:
                loop.call_soon_threadsafe(self._settle, _opened(answer))
            except RuntimeError:  # the loop closed: the connector is stopping
                break
        answers.close()
        process.join(STOP_WAIT_SECONDS)
        with contextlib.suppress(RuntimeError):  # the loop closed first: the connector is stopping
            loop.call_soon_threadsafe(self._ended, process)

    def _settle(self, answer: tuple[int, bool, Any, Sequence[tuple[str, str, int]]]) -> None:
        call_id, ok, value, counts = answer
        if call_id == _READY:
            self.ready = self._process is not None
            return
        self._count(counts)
        future = self._pending.pop(call_id, None)
        if future is None or future.done():
            return
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)

    def _ended(self, process: Any) -> None:
        """The worker's answers ended: fail what it still owed, give back the slots it held, and let a new worker
        start :data:`RESTART_DELAY_SECONDS` from now (until then the connector's process makes the reads)."""
        if process is not self._process:
            return
        self._process = None
        self.ready = False
        self._start_after = time.monotonic() + self._restart_delay
        self._outbox.put(None)
        self._give_back_slots(process.exitcode)
        pending = list(self._pending.values())
        self._pending.clear()
        if process.exitcode != 0 or pending:
            log.warning("EWS worker process %d (pid %d) stopped with exit code %s; %d reads in flight are retried",
                        self.index, process.pid, process.exitcode, len(pending))  # fmt: skip
        for future in pending:
            if not future.done():
                future.set_exception(WorkerStoppedError(
                    f"the EWS worker process {self.index} (pid {process.pid}) stopped with exit code "
                    f"{process.exitcode} while reading; the read is retried"))  # fmt: skip

    def _give_back_slots(self, exitcode: int | None) -> None:
        """Slots of the accounts' budgets the worker held when it ended (killed mid-request): an operating-system
        semaphore does not know who took it, so they are released here, or the budget would shrink for good."""
        if exitcode is None:  # still running after its pipe ended: its threads may release them yet
            log.warning("EWS worker process %d ended its answers but not itself; its budget slots are not given "
                        "back", self.index)  # fmt: skip
            return
        for index, budget in enumerate(self._spec.budgets):
            for _ in range(self._held[index]):
                try:
                    budget.release()
                except ValueError:  # defensive: the count never exceeds the slots the worker held
                    break
            self._held[index] = 0

    async def stop(self) -> None:
        self.ready = False
        process = self._process
        if process is None:
            return
        self._outbox.put(None)  # the worker reads the end of its requests, closes its connections and exits
        await asyncio.to_thread(process.join, STOP_WAIT_SECONDS)
        if process.is_alive():
            log.warning("EWS worker process %d (pid %d) did not stop in %.0f s; killing it",
                        self.index, process.pid, STOP_WAIT_SECONDS)  # fmt: skip
            process.kill()
            await asyncio.to_thread(process.join, STOP_WAIT_SECONDS)


@contextlib.contextmanager
def _main_module_left_out() -> Iterator[None]:
    """While a worker is started: a worker needs nothing of the program's ``__main__``, which a spawned process runs
    again otherwise (all the imports of the console script or of a benchmark, a second or so; and a program
    without an ``if __name__ == "__main__"`` guard would start itself again)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def _opened(answer: tuple[int, bool, bytes, Any]) -> tuple[int, bool, Any, Any]:
    """An answer with its value read back; a value that cannot be read back fails its call instead of leaving it
    waiting."""
    call_id, ok, value, counts = answer
    if call_id == _READY:
        return answer
    try:
        return call_id, ok, pickle.loads(value), counts
    except Exception as exc:
        return call_id, False, ProviderError(f"an EWS worker's answer could not be read: {exc}"), counts


def _send_requests(outbox: queue.SimpleQueue[tuple[Any, ...] | None], requests: Connection) -> None:
    """The writing thread: requests go out in order; ``None`` (stop) closes the pipe, which ends the worker."""
    try:
        while (request := outbox.get()) is not None:
            requests.send(request)
    except OSError:
        pass  # the worker is gone; its reading thread reports it
    finally:
        requests.close()


def _write_logs(records: Any) -> None:
    """The workers' log records, written by this process's handlers as if logged here."""
    while (record := records.get()) is not None:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


def _logger_levels() -> dict[str, int]:
    levels = {"": logging.getLogger().level}
    for name, logger in logging.root.manager.loggerDict.items():
        if isinstance(logger, logging.Logger) and logger.level != logging.NOTSET:
            levels[name] = logger.level
    return levels


# ------------------------------------------------------------------------------------------- the worker's side


class _RequestCounts:
    """Stands in for :class:`Metrics` in a worker: the provider's request counts, handed over with each answer."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.ews_requests = self

    def labels(self, *, operation: str, result: str) -> _Increment:
        return _Increment(self.counts, (operation, result))

    def drain(self) -> list[tuple[str, str, int]]:
        drained = [(operation, result, n) for (operation, result), n in self.counts.items()]
        self.counts.clear()
        return drained


@dataclass(frozen=True, slots=True)
class _Increment:
    counts: Counter[tuple[str, str]]
    key: tuple[str, str]

    def inc(self, amount: int = 1) -> None:
        self.counts[self.key] += amount


class _CountedBudget:
    """A worker's view of an account's budget: it counts the slots this process holds (``held[index]``, shared
    memory), so that the connector can give them back if the worker is killed while holding them.

    A slot is counted after it is taken and uncounted before it is given back, so the count never exceeds the
    slots held: a worker killed in the few instructions between the two loses one slot for good (the budget is
    one smaller until the connector restarts), never lets one too many requests through."""

    def __init__(self, budget: Any, held: Any, index: int, lock: threading.Lock) -> None:
        self._budget = budget
        self._held = held
        self._index = index
        self._lock = lock

    def __enter__(self) -> None:
        self._budget.acquire()
        with self._lock:
            self._held[self._index] += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._held[self._index] -= 1
        self._budget.release()


def serve(requests: Connection, answers: Connection, spec: WorkerSpec, held: Any) -> None:
    """A worker process's main: answer calls until the request pipe ends, then close the provider's connections."""
    # Ctrl-C, and systemd's SIGTERM to the whole service, reach the workers too: the connector stops them when it has
    # finished its reads (it closes their request pipes), or they end with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(spec.log_records)]
    for name, level in spec.log_levels.items():
        logging.getLogger(name or None).setLevel(level)
    lock = threading.Lock()
    budgets = iter(_CountedBudget(budget, held, index, lock) for index, budget in enumerate(spec.budgets))
    endpoints = [(endpoint, [next(budgets) for _ in endpoint.budgets]) for endpoint in spec.endpoints]
    asyncio.run(_serve(requests, answers, spec, endpoints))


async def _serve(
    requests: Connection, answers: Connection, spec: WorkerSpec, endpoints: list[tuple[EndpointSpec, list[Any]]]
) -> None:
    from tc_calendar.providers.ews import EwsProvider

    counts = _RequestCounts()
    providers = [
        EwsProvider(endpoint.endpoint, endpoint.credentials, metrics=counts, budgets=budgets,  # type: ignore[arg-type]
                    **spec.options)
        for endpoint, budgets in endpoints
    ]  # fmt: skip
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[tuple[Any, ...] | None] = asyncio.Queue()

    def receive() -> None:
        while True:
            try:
                request = requests.recv()
            except (EOFError, OSError):
                break
            except Exception:  # a request that cannot be read: end, and let the connector start another worker
                log.exception("EWS worker: a request could not be read")
                break
            loop.call_soon_threadsafe(inbox.put_nowait, request)
        loop.call_soon_threadsafe(inbox.put_nowait, None)

    threading.Thread(target=receive, daemon=True, name="tc-ews-worker-requests").start()
    answers.send((_READY, True, None, []))
    log.info("%s ready (pid %d)", multiprocessing.current_process().name, os.getpid())
    calls: set[asyncio.Task[None]] = set()
    while (request := await inbox.get()) is not None:
        call = asyncio.create_task(_answer(providers, request, answers, counts))
        calls.add(call)
        call.add_done_callback(calls.discard)
    for call in calls:
        call.cancel()
    await asyncio.gather(*calls, return_exceptions=True)
    for provider in providers:
        await provider.aclose()
    answers.close()


async def provider_call(provider: EwsProvider, method: str, args: tuple[Any, ...]) -> Any:
    """A read of ``provider`` as an answer carries it: ``initial_items`` as a list, the others as they return."""
    if method == "initial_items":
        return [item async for item in provider.initial_items(*args)]
    return await getattr(provider, method)(*args)


async def _answer(
    providers: list[EwsProvider], request: tuple[Any, ...], answers: Connection, counts: _RequestCounts
) -> None:
    call_id, index, method, args, call_lane = request
    try:
        with lane(call_lane):
            value: Any = await provider_call(providers[index], method, args)
        ok = True
    except ProviderError as exc:
        value, ok = exc, False
    except Exception as exc:
        _log_once(method, exc)
        value, ok = ProviderError(f"{method} failed in an EWS worker process: {type(exc).__name__}: {exc}"), False
    drained = counts.drain()
    try:
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an answer that cannot be pickled: say so instead
        ok = False
        payload = pickle.dumps(ProviderError(f"{method}: the answer could not be passed on: {exc}"))
    answers.send((call_id, ok, payload, drained))


_logged: set[tuple[str, str, str]] = set()


def _log_once(method: str, exc: Exception) -> None:
    """A failure that is not a provider error (a defect), with its traceback, once per kind: the engine retries
    the read and logs its message each time, and the traceback stays in this process."""
    key = (method, type(exc).__name__, str(exc))
    if key not in _logged:
        _logged.add(key)
        log.exception("EWS worker: %s failed", method)

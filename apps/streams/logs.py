"""Container logs for the streams, read from each container's own node through the Docker driver.

A follow is a thread per container (the driver's read blocks), handing each line to the WebSocket's
`ClientQueue`. It reads the tail, then what Docker writes; when Docker ends the stream (the container
stopped, or was replaced by a redeploy) it waits for the container to run again and goes on from the last
line it sent. It ends when the container is terminated, or when the client leaves.
"""

import asyncio
import concurrent.futures
import logging
import threading

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

from apps.containers.choices import ContainerState
from apps.containers.models import Container

logger = logging.getLogger(__name__)

ENDED = frozenset({ContainerState.TERMINATING, ContainerState.TERMINATED})


def driver_for(node):
    """The driver of a node, through the function settings name (apps/ does not import orchestrator/)."""
    return import_string(settings.TUTUM_STREAM_DRIVER)(node)


def log_message(stream: str, line: str, timestamp: float, source: str | None = None) -> dict:
    message = {"type": "log", "log": line, "streamType": stream, "timestamp": int(timestamp)}
    if source is not None:
        message["source"] = source
    return message


class ClientQueue:
    """The messages on their way to one WebSocket, filled from threads, bounded to `size`.

    While there is room a thread hands a message over without waiting for the event loop (a wake-up per
    message would cap a follow at a few thousand lines a second). A thread that finds it full waits, so a
    follow reads Docker no faster than the client reads the socket; a client that leaves it full for
    TUTUM_STREAM_SLOW_CLIENT_SECONDS is too slow: `on_slow` is called (the consumer drops it) and every later
    `put` answers False.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_slow, size: int | None = None):
        self.loop = loop
        self.size = size or settings.TUTUM_STREAM_QUEUE_SIZE
        self.queue: asyncio.Queue = asyncio.Queue()  # bounded here, counting what is on its way
        self.room = asyncio.Event()
        self.on_slow = on_slow
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.in_flight = 0  # handed to the loop, not in the queue yet

    def _arrive(self, message) -> None:
        with self.lock:
            self.in_flight -= 1
        if not self.closed.is_set():
            self.queue.put_nowait(message)

    async def _put_when_room(self, message) -> bool:
        deadline = self.loop.time() + settings.TUTUM_STREAM_SLOW_CLIENT_SECONDS
        while self.queue.qsize() + self.in_flight >= self.size:
            if self.closed.is_set():
                return False
            self.room.clear()
            try:
                await asyncio.wait_for(self.room.wait(), max(deadline - self.loop.time(), 0))
            except TimeoutError:
                if not self.closed.is_set():
                    self.closed.set()
                    self.on_slow()
                return False
        self.queue.put_nowait(message)
        return True

    def put(self, message) -> bool:
        """From a thread: False once the client is gone or too slow (the thread should stop)."""
        if self.closed.is_set():
            return False
        with self.lock:
            room = self.in_flight + self.queue.qsize() < self.size
            if room:
                self.in_flight += 1
        try:
            if room:
                self.loop.call_soon_threadsafe(self._arrive, message)
                return True
            future = asyncio.run_coroutine_threadsafe(self._put_when_room(message), self.loop)
            return future.result(timeout=settings.TUTUM_STREAM_SLOW_CLIENT_SECONDS + 5)
        except (RuntimeError, concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
            return False  # the loop has stopped: the server is shutting down

    def close(self) -> None:
        self.closed.set()

    async def get(self):
        item = await self.queue.get()
        self.room.set()
        return item


def _load(container_pk: int) -> Container | None:
    return Container.objects.select_related("node").filter(pk=container_pk).first()


class ContainerLogReader:
    """Reads one container's log into a ClientQueue: the last `tail` lines (all when None), then with
    `follow` new lines until the container is terminated. `source` names the container in each message (a
    service's logs). `stop()` ends it from any thread; `done` is set once it has ended."""

    def __init__(self, container_pk: int, queue: ClientQueue, tail: int | None, follow: bool, source=None):
        self.container_pk = container_pk
        self.queue = queue
        self.tail = tail
        self.follow = follow
        self.source = source
        self.stopping = threading.Event()
        self.done = threading.Event()
        self._stream = None
        self._lock = threading.Lock()
        self.on_done = None  # called in the reader's thread once it has ended
        self.thread = threading.Thread(target=self._run, name=f"logs-{container_pk}", daemon=True)

    def start(self) -> "ContainerLogReader":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def _open(self, container: Container, tail, since):
        stream = driver_for(container.node).logs_stream(container.docker_id, tail, self.follow, since=since)
        with self._lock:
            self._stream = stream
        if self.stopping.is_set():  # stopped while it was opening
            stream.close()
        return stream

    def _run(self) -> None:
        docker_id, last = None, 0.0
        first = True
        try:
            while not self.stopping.is_set():
                close_old_connections()
                container = _load(self.container_pk)
                if container is None or (container.state in ENDED and not first):
                    return
                readable = container.node is not None and container.docker_id
                # A new Docker container (a redeploy) starts a new log; the same one goes on after `last`.
                if readable and (
                    first or container.docker_id != docker_id or container.state == ContainerState.RUNNING
                ):
                    if container.docker_id != docker_id:
                        last = 0.0
                    docker_id = container.docker_id
                    tail = self.tail if first else None
                    try:
                        last = self._relay(self._open(container, tail, last or None), last)
                    except Exception as exc:  # the node is unreachable, or Docker refused
                        if not self.follow:
                            self.queue.put(_error(f"cannot read the logs of {container.unique_name}: {exc}"))
                            return
                        logger.info("logs of %s: %s; trying again", container.unique_name, exc)
                first = False
                if not self.follow or container.state in ENDED:
                    return
                self.stopping.wait(settings.TUTUM_STREAM_POLL_SECONDS)
        finally:
            with self._lock:
                self._stream = None
            connection.close()
            self.done.set()
            if self.on_done is not None:
                self.on_done()

    def _relay(self, stream, last: float) -> float:
        for kind, line, timestamp in stream:
            if timestamp <= last:  # already sent before Docker ended the stream and we opened it again
                continue
            last = timestamp
            if not self.queue.put(log_message(kind, line, timestamp, self.source)):
                self.stopping.set()
                stream.close()
                break
        return last


def _error(text: str) -> dict:
    return {"type": "error", "data": {"errorMessage": text}}


def read_tail(container: Container, tail: int | None) -> list[tuple[float, str, str]]:
    """A container's last `tail` lines as `(timestamp, stream, line)`, for the logs of a service without
    follow (merged in time order); nothing for a container Docker no longer has."""
    if container.node is None or not container.docker_id:
        return []
    try:
        stream = driver_for(container.node).logs_stream(container.docker_id, tail, False)
        return [(timestamp, kind, line) for kind, line, timestamp in stream]
    except Exception as exc:  # removed meanwhile, or the node is unreachable: its lines are not to be had
        logger.info("logs of %s: %s", container.unique_name, exc)
        return []

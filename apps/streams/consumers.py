"""The stream API's WebSockets: authenticate, find the object, relay, clean up; nothing is decided here.

Every message is a JSON text frame. A handshake is always accepted, so that a refusal can say why: wrong
credentials get `{"type": "error", "data": {"errorMessage": "UNAUTHORIZED"}}` (the clients stop there), an
object that is not the user's (or does not exist) `{"type": "error", "data": {"errorMessage": "Not found"}}`,
then the server closes the socket.
"""

import asyncio
import codecs
import json
import logging
import shlex
import threading
import time
import uuid as uuid_module

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections, connections

from apps.actions.choices import OPEN as ACTION_OPEN
from apps.actions.models import Action, ActionLog
from apps.containers.choices import ContainerState
from apps.containers.models import Container
from apps.services.choices import ServiceState
from apps.services.models import Service

from . import events
from .auth import authenticate, query_params
from .logs import ClientQueue, ContainerLogReader, driver_for, log_message, read_tail

logger = logging.getLogger(__name__)

UNAUTHORIZED = "UNAUTHORIZED"
NOT_FOUND = "Not found"
TOO_SLOW = "The client read too slowly; the stream was dropped"
END = object()  # the last item of a ClientQueue: close the socket
TRUE = {"true", "1", "yes", "on"}


def error(text: str) -> dict:
    return {"type": "error", "data": {"errorMessage": text}}


def _uuid(value: str) -> uuid_module.UUID | None:
    try:
        return uuid_module.UUID(value)
    except ValueError:
        return None


@database_sync_to_async
def _find_container(user, uuid: str) -> Container | None:
    key = _uuid(uuid)
    if key is None:
        return None
    return Container.objects.owned_by(user).select_related("node").filter(uuid=key).first()


@database_sync_to_async
def _find_service(user, uuid: str) -> Service | None:
    key = _uuid(uuid)
    if key is None:
        return None
    return Service.objects.owned_by(user).filter(uuid=key).first()


class StreamConsumer(AsyncWebsocketConsumer):
    """Accepts, authenticates, then `open()`s the stream; `disconnect` stops what `open` started."""

    # No channel layer: a stream receives nothing from other processes (its threads and the database's
    # notifications feed it), and a layer would hold a Redis connection blocked in a read per WebSocket.
    channel_layer_alias = "none"

    async def connect(self):
        self.tasks: list[asyncio.Task] = []
        self.closing = False
        await self.before_accept()
        await self.accept()
        self.user = await database_sync_to_async(authenticate)(self.scope)
        if self.user is None:
            await self.fail(UNAUTHORIZED)
            return
        await self.open()

    async def before_accept(self) -> None:
        """What must be fixed before the client can know it is connected."""

    async def open(self) -> None:
        raise NotImplementedError

    async def send_json(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))

    async def fail(self, text: str) -> None:
        await self.send_json(error(text))
        await self.finish()

    async def finish(self) -> None:
        if not self.closing:
            self.closing = True
            await self.close()

    def start_task(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.append(task)
        return task

    def client_queue(self) -> ClientQueue:
        self.queue = ClientQueue(asyncio.get_running_loop(), on_slow=lambda: self.start_task(self.drop_slow()))
        return self.queue

    async def relay(self, shape=lambda message: message) -> None:
        """Sends what the queue holds, in order, until END."""
        while True:
            item = await self.queue.get()
            if item is END:
                await self.finish()
                return
            await self.send_json(shape(item))

    async def drop_slow(self) -> None:
        for task in self.tasks:
            if task is not asyncio.current_task():
                task.cancel()
        try:
            await asyncio.wait_for(self.send_json(error(TOO_SLOW)), 5)
        except TimeoutError:
            pass
        await self.finish()

    async def disconnect(self, code):
        self.closing = True
        if getattr(self, "queue", None) is not None:
            self.queue.close()
        await self.stop()
        for task in self.tasks:
            task.cancel()

    async def stop(self) -> None:
        """Stops the threads the stream started."""


class NotFoundConsumer(StreamConsumer):
    """Any other path under the stream API."""

    async def open(self):
        await self.fail(NOT_FOUND)


def _tail(params: dict) -> tuple[bool, int | None]:
    value = params.get("tail", "").strip()
    if not value:
        return True, None
    if not value.isdigit():
        return False, None
    return True, int(value)


class LogsConsumer(StreamConsumer):
    """`…/logs/?follow=true|false[&tail=N]`: without follow the tail, then the server closes."""

    async def open(self):
        params = query_params(self.scope)
        self.follow = params.get("follow", "").strip().lower() in TRUE
        valid, self.tail = _tail(params)
        if not valid:
            await self.fail("tail must be a whole number")
            return
        self.readers: dict[int, ContainerLogReader] = {}
        await self.open_logs(self.scope["url_route"]["kwargs"]["uuid"])

    def start_reader(self, container_pk: int, tail: int | None, source=None) -> None:
        loop = asyncio.get_running_loop()
        reader = ContainerLogReader(container_pk, self.queue, tail, self.follow, source=source)
        reader.on_done = lambda: loop.call_soon_threadsafe(self.reader_done)
        self.readers[container_pk] = reader.start()

    def reader_done(self) -> None:
        if self.all_done():
            self.start_task(self.queue.queue.put(END))

    def all_done(self) -> bool:
        return all(reader.done.is_set() for reader in self.readers.values())

    async def stop(self):
        for reader in getattr(self, "readers", {}).values():
            reader.stop()


class ContainerLogsConsumer(LogsConsumer):
    """One container's log lines: `{"type": "log", "log", "streamType", "timestamp"}`."""

    async def open_logs(self, uuid: str):
        container = await _find_container(self.user, uuid)
        if container is None:
            await self.fail(NOT_FOUND)
            return
        self.client_queue()
        self.start_task(self.relay())
        self.start_reader(container.pk, self.tail)


@database_sync_to_async
def _service_containers(service_pk: int) -> tuple[str | None, list[tuple[int, str]]]:
    """The service's state (None once it is gone) and its containers not terminated, as (pk, unique_name)."""
    state = Service.objects.filter(pk=service_pk).values_list("state", flat=True).first()
    rows = Container.objects.filter(service_id=service_pk).exclude(state=ContainerState.TERMINATED)
    return state, list(rows.order_by("number").values_list("pk", "unique_name"))


def _service_tail(service_pk: int, tail: int | None) -> list[dict]:
    """Every container's tail, merged in time order, each line with its container's unique_name."""
    try:
        containers = Container.objects.filter(service_id=service_pk).select_related("node").order_by("number")
        lines = [
            (timestamp, number, kind, line, container.unique_name)
            for number, container in enumerate(containers.exclude(state=ContainerState.TERMINATED))
            for timestamp, kind, line in read_tail(container, tail)
        ]
    finally:
        close_old_connections()
    lines.sort(key=lambda row: row[:2])
    return [log_message(kind, line, timestamp, source) for timestamp, _, kind, line, source in lines]


class ServiceLogsConsumer(LogsConsumer):
    """Every container's lines, each with `source`: the container's unique_name. A follow takes in the
    containers that start later (a scale) and ends when the service is terminated."""

    async def open_logs(self, uuid: str):
        service = await _find_service(self.user, uuid)
        if service is None:
            await self.fail(NOT_FOUND)
            return
        if not self.follow:
            messages = await sync_to_async(_service_tail, thread_sensitive=False)(service.pk, self.tail)
            for message in messages:
                await self.send_json(message)
            await self.finish()
            return
        self.client_queue()
        self.start_task(self.relay())
        self.start_task(self.watch(service.pk))

    async def watch(self, service_pk: int) -> None:
        first = True
        while True:
            state, containers = await _service_containers(service_pk)
            for pk, unique_name in containers:
                if pk not in self.readers:
                    # Containers there when the follow began show their tail; later ones all they write.
                    self.start_reader(pk, self.tail if first else None, source=unique_name)
            first = False
            if state in (None, ServiceState.TERMINATED) and self.all_done():
                await self.queue.queue.put(END)
                return
            await asyncio.sleep(settings.TUTUM_STREAM_POLL_SECONDS)

    def reader_done(self) -> None:
        """A container's follow ended; the service's follow goes on until the service is terminated."""


class ExecConsumer(StreamConsumer):
    """`…/exec/?command=…` (default `sh`): text frames in go to the process's stdin; `"\\u0004"` ends the
    input (closes stdin) unless the process has a terminal (`?tty=true`, beyond Tutum: there it is Ctrl-D).
    Output goes out as `{"streamType": "stdout"|"stderr", "output": "…"}`; when the process ends, its exit
    code as `{"type": "exit", "exit_code": N}` (beyond Tutum; the clients ignore it), then the server closes.
    """

    session = None

    async def open(self):
        params = query_params(self.scope)
        try:
            command = shlex.split(params.get("command", "")) or ["sh"]
        except ValueError as exc:
            await self.fail(f"Cannot parse the command: {exc}")
            return
        self.tty = params.get("tty", "").strip().lower() in TRUE
        self.stdin_open = True
        container = await _find_container(self.user, self.scope["url_route"]["kwargs"]["uuid"])
        if container is None:
            await self.fail(NOT_FOUND)
            return
        if container.state != ContainerState.RUNNING or container.node is None or not container.docker_id:
            await self.fail(f"The container is not running (it is {container.state})")
            return
        try:
            self.session = await sync_to_async(self._start_session, thread_sensitive=False)(container, command)
        except Exception as exc:  # Docker refused (no such executable), or the node is unreachable
            await self.fail(f"Cannot run the command: {exc}")
            return
        self.client_queue()
        self.start_task(self.relay())
        threading.Thread(target=self._pump, name=f"exec-{container.pk}", daemon=True).start()

    def _start_session(self, container, command):
        return driver_for(container.node).exec_session(container.docker_id, command, self.tty)

    def _pump(self) -> None:
        """The process's output into the queue, then its exit code, then the end."""
        decoders = {name: codecs.getincrementaldecoder("utf-8")(errors="replace") for name in ("stdout", "stderr")}
        try:
            for kind, data in self.session.output():
                text = decoders[kind].decode(data)
                if text and not self.queue.put({"streamType": kind, "output": text}):
                    return
            code = self.session.exit_code()
            self.queue.put({"type": "exit", "exit_code": code})
        except Exception as exc:
            self.queue.put(error(f"The session ended: {exc}"))
        finally:
            self.queue.put(END)

    async def receive(self, text_data=None, bytes_data=None):
        if self.session is None or not self.stdin_open:
            return  # the final CLI sends its stdin and "\u0004" again every second until the socket closes
        data = text_data if text_data is not None else bytes_data.decode("utf-8", errors="replace")
        end = not self.tty and "\u0004" in data
        if end:
            data = data.partition("\u0004")[0]
        elif not self.tty and data == "\r":
            data = "\n"  # Enter from a terminal in raw mode, for a process without one
        try:
            if data:
                await asyncio.to_thread(self.session.write, data.encode("utf-8"))
            if end:
                self.stdin_open = False
                await asyncio.to_thread(self.session.close_stdin)
        except Exception as exc:  # the process has ended and closed its input
            logger.info("exec input: %s", exc)
            self.stdin_open = False

    async def stop(self):
        if self.session is not None:
            await asyncio.to_thread(self.session.close)


@database_sync_to_async
def _find_action(user, uuid: str) -> Action | None:
    key = _uuid(uuid)
    if key is None:
        return None
    return Action.objects.owned_by(user).filter(uuid=key).first()


@database_sync_to_async
def _action_lines(action_pk: int, after: int, tail: int | None = None) -> tuple[str | None, list[tuple[int, dict]]]:
    """The action's state, then its lines after the id `after` (the last `tail` of them), as (id, message).
    The state is read first: a finished action's last lines were committed with its end, so they are read."""
    state = Action.objects.filter(pk=action_pk).values_list("state", flat=True).first()
    rows = ActionLog.objects.filter(action_id=action_pk, id__gt=after)
    if tail is None:
        rows = list(rows.order_by("id").values_list("id", "line", "timestamp"))
    else:
        rows = list(rows.order_by("-id").values_list("id", "line", "timestamp")[:tail])[::-1]
    return state, [(pk, {"type": "log", "log": line, "timestamp": int(ts.timestamp())}) for pk, line, ts in rows]


class ActionLogsConsumer(StreamConsumer):
    """`/v1/action/<uuid>/logs/?follow=true|false[&tail=N]`: the action's log lines, `{"type": "log", "log",
    "timestamp"}`. Without follow the tail, then the server closes; a follow sends each new line (woken by the
    database's notifications, looking every TUTUM_STREAM_POLL_SECONDS too) and ends once the action has ended."""

    wake = None

    async def open(self):
        params = query_params(self.scope)
        follow = params.get("follow", "").strip().lower() in TRUE
        valid, tail = _tail(params)
        if not valid:
            await self.fail("tail must be a whole number")
            return
        action = await _find_action(self.user, self.scope["url_route"]["kwargs"]["uuid"])
        if action is None:
            await self.fail(NOT_FOUND)
            return
        if follow:
            self.loop = asyncio.get_running_loop()
            self.wake = asyncio.Event()
            events.wakeup.subscribe(self.loop, self.wake)
        self.start_task(self.tail(action.pk, tail, follow))

    async def tail(self, action_pk: int, tail: int | None, follow: bool) -> None:
        after = 0
        while True:
            if self.wake is not None:
                self.wake.clear()
            state, lines = await _action_lines(action_pk, after, tail)
            tail = None
            for pk, message in lines:
                await self.send_json(message)
                after = pk
            if not follow or state is None or state not in ACTION_OPEN:
                await self.finish()
                return
            try:
                await asyncio.wait_for(self.wake.wait(), settings.TUTUM_STREAM_POLL_SECONDS)
            except TimeoutError:
                pass

    async def stop(self):
        if self.wake is not None:
            events.wakeup.unsubscribe(self.loop, self.wake)


@database_sync_to_async
def _read_events(owner_id: int, after: int, seen: set[int]) -> list[dict]:
    events.prune_now_and_then()
    return events.read_events(owner_id, after, seen)


class EventsConsumer(StreamConsumer):
    """`/v1/events`: `{"type": "auth"}` once the credentials are accepted, then every change of the user's
    services, containers, stacks and actions, and of the nodes, in commit order: `{"type", "action", "resource_uri",
    "state", "parents"}`, with `uuid` and `id`. `?since=<id>` (beyond Tutum) starts after that event, so a
    client that reconnects misses nothing still kept (TUTUM_EVENT_RETENTION_SECONDS); without it, the stream
    starts at the handshake."""

    wake = None

    async def before_accept(self):
        # Where the stream starts is fixed before the handshake is answered: a change made once the client is
        # connected is sent (the SDK drops {"type": "auth"} and can only know it is connected).
        since = query_params(self.scope).get("since", "").strip()
        self.after = int(since) if since.isdigit() else await database_sync_to_async(events.latest_id)()

    async def open(self):
        after = self.after
        await self.send_json({"type": "auth"})
        self.loop = asyncio.get_running_loop()
        self.wake = asyncio.Event()
        events.wakeup.subscribe(self.loop, self.wake)
        self.start_task(self.tail(after))

    async def tail(self, after: int) -> None:
        # Postgres wakes the stream at each commit (a look now and then is a safety net); SQLite is polled.
        listening = connections["default"].vendor == "postgresql"
        self.poll_seconds = settings.TUTUM_STREAM_POLL_SECONDS * (5 if listening else 1)
        seen: dict[int, float] = {}  # id -> when it was sent, for the look-back
        while True:
            self.wake.clear()
            now = time.monotonic()
            for event_id in [i for i, sent in seen.items() if now - sent > settings.TUTUM_EVENT_LOOKBACK_SECONDS]:
                del seen[event_id]
            floor = min([after, *(i - 1 for i in seen)])
            for message in await _read_events(self.user.pk, floor, set(seen)):
                await self.send_json(message)
                seen[message["id"]] = time.monotonic()
                after = max(after, message["id"])
            try:
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)
            except TimeoutError:
                pass

    async def stop(self):
        if self.wake is not None:
            events.wakeup.unsubscribe(self.loop, self.wake)

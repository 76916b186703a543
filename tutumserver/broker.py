"""Two fixes to kombu's transports, registered under their usual URL schemes (`filesystem://`, `redis://`).

The filesystem transport (the embedded mode) with an atomic put: kombu creates the message file and then
writes it; a worker polling the folder may move and read the file in between and find it empty, which kills
the worker (JSONDecodeError). Writing under a name the reader ignores and renaming it into place makes every
message appear whole.

The Redis transport with a closed channel failing as a lost connection: when the broker is lost, Celery
closes the connection after collect() has cut it from its transport (transport.client = None). A channel of
it that needs a Redis client afterwards, to give back the unacknowledged messages while Redis is still down
or to acknowledge a task that finished meanwhile, then raised AttributeError ('NoneType' object has no
attribute 'hostname'), which neither kombu nor Celery expects there: "Unrecoverable error", and the worker
ended, every time Redis restarted under a busy worker. As a ConnectionError it is one more failure of the
connection that was lost, which both handle (the ack is logged as lost; the worker reconnects).
"""

import os
import uuid
from time import monotonic

import redis.exceptions
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.transport import redis as redis_transport
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        partial = os.path.join(self.data_folder_out, f".partial-{name}")
        with open(partial, "wb") as f:
            f.write(str_to_bytes(dumps(payload)))
        os.replace(partial, os.path.join(self.data_folder_out, name))


class Transport(filesystem.Transport):
    Channel = Channel


class RedisChannel(redis_transport.Channel):
    def _connparams(self, asynchronous=False):
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection this channel belonged to was closed")
        return super()._connparams(asynchronous=asynchronous)


class RedisTransport(redis_transport.Transport):
    Channel = RedisChannel


def use_fixed_transports() -> None:
    TRANSPORT_ALIASES["filesystem"] = "tutumserver.broker:Transport"
    TRANSPORT_ALIASES["redis"] = TRANSPORT_ALIASES["rediss"] = "tutumserver.broker:RedisTransport"

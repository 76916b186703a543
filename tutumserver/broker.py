"""kombu's filesystem transport with an atomic put, for the embedded mode.

kombu creates the message file and then writes it; a worker polling the folder may move and read the file
in between and find it empty, which kills the worker (JSONDecodeError). Writing under a name the reader
ignores and renaming it into place makes every message appear whole.
"""

import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
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


def use_atomic_filesystem_transport() -> None:
    TRANSPORT_ALIASES["filesystem"] = "tutumserver.broker:Transport"

"""Reading a container's logs is the one synchronous Docker read the API makes.

The reader is named in settings (TUTUM_LOG_READER) so that apps/ does not import orchestrator/.
"""

from django.conf import settings
from django.utils.module_loading import import_string


def read_logs(container) -> str:
    return import_string(settings.TUTUM_LOG_READER)(container)

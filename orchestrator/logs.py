from rest_framework.exceptions import APIException

from .driver import NodeUnreachable, driver_for


class NodeUnavailable(APIException):
    status_code = 503
    default_detail = "The node of this container is unreachable."


def read_container_logs(container) -> str:
    if container.node is None or not container.docker_id:
        return ""
    try:
        return driver_for(container.node).logs(container.docker_id)
    except NodeUnreachable as exc:
        raise NodeUnavailable(str(exc)) from exc

"""Which container settings a user may give: those that hand the host to whoever sets them need staff, or
the operator's permission for each (TUTUM_ALLOW_*, off by default). Shared by every face that takes
service definitions (the 2015 service API, stack files)."""

from pathlib import PurePosixPath

from django.conf import settings

DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


def _granted(user, setting: str) -> bool:
    return bool(user.is_staff or getattr(settings, setting))


def _exposes_docker_socket(host_path: str) -> bool:
    """The socket itself, or a folder it is in (binding `/var/run` or `/` hands it over as well)."""
    path = PurePosixPath("/" + host_path.strip("/")) if host_path.startswith("/") else None
    if path is None:
        return False
    return any(path == PurePosixPath(socket) or path in PurePosixPath(socket).parents for socket in DOCKER_SOCKETS)


def capability_errors(user, fields: dict) -> dict[str, str]:
    """Field name -> why this user may not set it; empty when everything asked for is allowed.

    `fields` holds service field values as the use cases take them (`bindings` as dicts with `host_path`)."""
    errors: dict[str, str] = {}

    def refuse(field: str, what: str, setting: str) -> None:
        if not _granted(user, setting):
            errors[field] = f"{what} is not allowed on this server (staff only unless {setting} is set)."

    if fields.get("privileged"):
        refuse("privileged", "A privileged container", "TUTUM_ALLOW_PRIVILEGED")
    if fields.get("net") == "host":
        refuse("net", "The host's network", "TUTUM_ALLOW_HOST_NETWORK")
    if fields.get("pid") == "host":
        refuse("pid", "The host's process namespace", "TUTUM_ALLOW_HOST_PID")
    if fields.get("devices"):
        refuse("devices", "Access to host devices", "TUTUM_ALLOW_DEVICES")
    if fields.get("cap_add"):
        refuse("cap_add", "Adding kernel capabilities", "TUTUM_ALLOW_CAP_ADD")
    if fields.get("security_opt"):
        refuse("security_opt", "Changing security options", "TUTUM_ALLOW_SECURITY_OPT")
    if fields.get("cgroup_parent"):
        refuse("cgroup_parent", "Choosing the cgroup parent", "TUTUM_ALLOW_CGROUP_PARENT")
    host_paths = [b.get("host_path") or "" for b in fields.get("bindings") or ()]
    if any(path.startswith("/") for path in host_paths):
        refuse("bindings", "Binding a host path", "TUTUM_ALLOW_HOST_PATHS")
    if not user.is_staff and any(_exposes_docker_socket(path) for path in host_paths):
        errors["bindings"] = "The Docker socket (or a folder holding it) may be bound by staff only."
    return errors

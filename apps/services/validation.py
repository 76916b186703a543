"""Checks of a service definition that both faces (2014 /application/, 2015 /service/) make the same way.
Each raises DRF's ValidationError with the message a client sees beside the field."""

import re

from rest_framework import serializers

from apps.core.images import ImageReference, parse_image_reference

NAME_PATTERN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})$")
ENV_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def image_reference(value: str) -> ImageReference:
    reference = parse_image_reference(value)
    if reference is None:
        raise serializers.ValidationError(
            f"{value!r} is not a valid image reference, e.g. 'tutum/hello-world' or '127.0.0.1:5000/team/app:1.0'."
        )
    return reference


def service_name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise serializers.ValidationError("Use 1 to 63 letters, digits and hyphens, starting with a letter or digit.")
    return value


def default_name(reference: ImageReference, fallback: str) -> str:
    """The name of a service created without one: the image's last path component, made a valid name."""
    return re.sub(r"[^A-Za-z0-9-]+", "-", reference.short_name).strip("-")[:63] or fallback


def env_key(key: str) -> str:
    if not ENV_KEY_PATTERN.match(key):
        raise serializers.ValidationError(f"{key!r} is not a valid variable name (letters, digits, underscore).")
    return key


def unique_env_keys(envvars: list[dict]) -> list[dict]:
    keys = [e["key"] for e in envvars]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise serializers.ValidationError(f"Duplicate keys: {', '.join(duplicates)}.")
    return envvars


def unique_ports(ports: list[dict]) -> list[dict]:
    seen = set()
    for port in ports:
        key = (port["inner_port"], port["protocol"])
        if key in seen:
            raise serializers.ValidationError(f"Port {key[0]}/{key[1]} is given more than once.")
        seen.add(key)
    return ports

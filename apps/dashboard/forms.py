"""The dashboard's forms. What they take is checked by the API's own serializer (ServiceWriteSerializer), so a
form accepts exactly what the API accepts; a form only turns its text fields into the API's JSON shapes and
puts the serializer's messages back next to the field they are about."""

import re

from django import forms

from apps.services.choices import DeploymentStrategy, RecoveryPolicy

PORT_SPEC = re.compile(r"^(?:(?P<outer>[^:/\s]+):)?(?P<inner>[^:/\s]+)(?:/(?P<protocol>[A-Za-z]+))?$")


class LinesField(forms.CharField):
    """Text of lines, with a browser's CRLF read as LF: unchanged text then compares equal to what was shown."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n") if isinstance(value, str) else value


class LoginForm(forms.Form):
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="To tell your keys apart, e.g. 'laptop'.")


class ScaleForm(forms.Form):
    target_num_containers = forms.IntegerField(label="Containers", min_value=0)


class StackForm(forms.Form):
    name = forms.CharField(max_length=64)
    stack_file = LinesField(
        label="Stack file",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text="YAML: a map of service names to their keys (image, target_num_containers, ports, links…).",
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def parse_env(text: str) -> tuple[list[dict], list[str]]:
    """`KEY=value` lines as the API's `container_envvars`; the names are checked by the serializer."""
    envvars, errors = [], []
    for line in _lines(text):
        key, sep, value = line.partition("=")
        if not sep:
            errors.append(f"{line!r}: write KEY=value.")
        else:
            envvars.append({"key": key.strip(), "value": value})
    return envvars, errors


def parse_ports(text: str) -> tuple[list[dict], list[str]]:
    """`80`, `8080:80`, `53/udp` (commas, spaces or lines between them) as the API's `container_ports`."""
    ports, errors = [], []
    for spec in re.split(r"[\s,]+", text.strip()):
        if not spec:
            continue
        match = PORT_SPEC.match(spec)
        if match is None:
            errors.append(f"{spec!r}: write a port as 80, 8080:80 or 53/udp.")
            continue
        port = {"inner_port": match["inner"], "protocol": (match["protocol"] or "tcp").lower(), "published": True}
        if match["outer"]:
            port["outer_port"] = match["outer"]
        ports.append(port)
    return ports, errors


def parse_tags(text: str) -> list[dict]:
    return [{"name": tag} for tag in re.split(r"[\s,]+", text.strip()) if tag]


class ServiceForm(forms.Form):
    """A new service. `links` offers the user's own services (by resource URI, as the API takes them)."""

    image = forms.CharField(max_length=255, help_text="e.g. tutum/hello-world or 127.0.0.1:5000/team/app:1.0")
    name = forms.CharField(max_length=64, required=False, help_text="Blank: named after the image.")
    target_num_containers = forms.IntegerField(label="Containers", min_value=0, initial=1)
    ports = forms.CharField(
        required=False, help_text="Blank: the image's ports. e.g. 80, 8080:80, 53/udp (outer:inner/protocol)."
    )
    env = LinesField(
        label="Environment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One KEY=value a line.",
    )
    links = forms.MultipleChoiceField(label="Links to", required=False, help_text="Your services it may reach.")
    autorestart = forms.ChoiceField(label="Restart policy", choices=RecoveryPolicy.choices, initial="OFF")
    deployment_strategy = forms.ChoiceField(
        label="Strategy", choices=DeploymentStrategy.choices, initial=DeploymentStrategy.EMPTIEST_NODE
    )
    tags = forms.CharField(required=False, help_text="Node tags, separated by spaces or commas.")

    # Where each key of the API's errors is shown.
    FIELD_OF = {
        "image": "image",
        "name": "name",
        "target_num_containers": "target_num_containers",
        "container_ports": "ports",
        "container_envvars": "env",
        "linked_to_service": "links",
        "autorestart": "autorestart",
        "deployment_strategy": "deployment_strategy",
        "tags": "tags",
    }

    def __init__(self, *args, link_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["links"].choices = list(link_choices)

    def api_data(self) -> dict:
        """The cleaned form as the body of a 2015 create; text that cannot be read becomes a form error."""
        data = self.cleaned_data
        body = {
            "image": data["image"],
            "target_num_containers": data["target_num_containers"],
            "autorestart": data["autorestart"],
            "deployment_strategy": data["deployment_strategy"],
            "tags": parse_tags(data["tags"]),
            "linked_to_service": [{"to_service": uri} for uri in data["links"]],
        }
        if data["name"]:
            body["name"] = data["name"]
        ports, port_errors = parse_ports(data["ports"])
        if ports:
            body["container_ports"] = ports
        envvars, env_errors = parse_env(data["env"])
        body["container_envvars"] = envvars
        for field, messages in (("ports", port_errors), ("env", env_errors)):
            for message in messages:
                self.add_error(field, message)
        return body


class ServiceEditForm(forms.Form):
    """What the service page changes: image, target, environment; saved through the API's PATCH rules."""

    image = forms.CharField(max_length=255)
    target_num_containers = forms.IntegerField(label="Containers", min_value=0)
    env = LinesField(
        label="Environment",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text="One KEY=value a line. New containers get it: redeploy to apply it to running ones.",
    )
    redeploy = forms.BooleanField(label="Redeploy after saving", required=False)

    FIELD_OF = {"image": "image", "target_num_containers": "target_num_containers", "container_envvars": "env"}

    def api_data(self) -> dict:
        data = self.cleaned_data
        envvars, env_errors = parse_env(data["env"])
        for message in env_errors:
            self.add_error("env", message)
        return {"image": data["image"], "container_envvars": envvars}


def messages_by_field(detail, field_of: dict) -> dict[str, list[str]]:
    """The serializer's error detail as {form field: messages}; a nested message is prefixed by its item
    (`[0].inner_port: …`); keys no field shows go to the form's own errors (None)."""
    result: dict[str | None, list[str]] = {}

    def walk(value, path: str, field):
        if isinstance(value, dict):
            for key, inner in value.items():
                part = f"[{key}]" if isinstance(key, int) else ("" if key == "non_field_errors" else f".{key}")
                walk(inner, path + part, field)
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                walk(inner, path if isinstance(inner, str) else f"{path}[{index}]", field)
        else:
            prefix = f"{path.lstrip('.')}: " if path else ""
            result.setdefault(field, []).append(prefix + str(value))

    for key, value in detail.items():
        field = field_of.get(key)
        walk(value, "" if field else key, field)
    return result


def add_serializer_errors(form: forms.Form, detail) -> None:
    for field, messages in messages_by_field(detail, form.FIELD_OF).items():
        for message in messages:
            form.add_error(field, message)

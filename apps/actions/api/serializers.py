"""The shapes of actions and triggers on the wire, and what a trigger's creation accepts."""

from rest_framework import serializers

from apps.core.fields import Rfc2822DateTimeField, StrictCharField, StrictChoiceField, StrictSerializer
from apps.core.serializers import ReadSerializer

from ..choices import ActionState, TriggerOperation


class ActionSerializer(ReadSerializer):
    """An action, as `tutum action list/inspect` and every `--sync` read it: `object` is always a URI."""

    resource_uri = serializers.CharField()
    uuid = serializers.UUIDField()
    object = serializers.CharField()
    action = serializers.CharField()
    method = serializers.CharField()
    path = serializers.CharField()
    user_agent = serializers.CharField()
    body = serializers.CharField(help_text="The request's JSON body, secrets replaced by ********.")
    ip = serializers.CharField()
    location = serializers.CharField()
    state = serializers.ChoiceField(choices=ActionState.choices)
    start_date = Rfc2822DateTimeField()
    end_date = Rfc2822DateTimeField(allow_null=True)
    is_user_action = serializers.BooleanField()
    can_be_canceled = serializers.BooleanField()
    can_be_retried = serializers.BooleanField()


class TriggerSerializer(ReadSerializer):
    """A service's trigger, as `tutum trigger list` reads it."""

    url = serializers.CharField(help_text="POST it, with no credentials, to call the trigger.")
    operation = serializers.ChoiceField(choices=TriggerOperation.choices)
    name = serializers.CharField()
    resource_uri = serializers.CharField()
    uuid = serializers.UUIDField()


class TriggerCreateSerializer(StrictSerializer):
    """`tutum trigger create` sends each key only when given."""

    name = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    operation = StrictChoiceField(choices=TriggerOperation.choices, required=False, default=TriggerOperation.REDEPLOY)

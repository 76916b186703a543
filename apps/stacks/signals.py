"""A stack follows its services: when the controller (or any use case) saves a service of a stack, the
stack's waiting starts go on and its state is recorded again, after that commit (`settle_stack`)."""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.services.models import Service


@receiver(post_save, sender=Service, dispatch_uid="stacks.follow_service")
def follow_service(sender, instance: Service, **kwargs) -> None:
    if instance.stack_id is None:
        return
    from .services import settle_stack

    stack_id = instance.stack_id
    transaction.on_commit(lambda: settle_stack(stack_id))

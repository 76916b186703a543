from django.contrib.auth import get_user_model
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from .listcache import ListPageCache

UUID_REGEX = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class OwnedResourceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Base of every resource: addressed by uuid, filtered by owner (another user's object is a 404).

    Subclasses set `queryset_for(user)` (with the prefetching their serializer needs), and serializers.
    """

    lookup_field = "uuid"
    lookup_value_regex = UUID_REGEX
    detail_serializer_class = None

    def queryset_for(self, user):
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            # The OpenAPI schema's generation has no user and needs only the model (for the filters' types).
            return self.queryset_for(get_user_model()(pk=0)).none()
        return self.queryset_for(self.request.user)

    def get_serializer_class(self):
        if self.action != "list" and self.detail_serializer_class is not None:
            return self.detail_serializer_class
        return self.serializer_class

    def accepted(self, instance) -> Response:
        """202 with the object as it is now, re-read with the prefetching of a detail request."""
        fresh = self.get_queryset().get(pk=instance.pk)
        return Response(self.get_serializer(fresh).data, status=status.HTTP_202_ACCEPTED)


class CachedListMixin:
    """Lists answered from the page cache while nothing they show has changed (apps/core/listcache.py).

    Only for resources whose listed rows, and every row their list shape reads, are watched by the
    triggers of apps/core/listversions.py; a list showing anything else would be served stale.
    """

    def list(self, request, *args, **kwargs):
        page_cache = ListPageCache.for_request(request)
        if page_cache is None:
            return super().list(request, *args, **kwargs)
        cached = page_cache.response()
        if cached is not None:
            return cached
        response = super().list(request, *args, **kwargs)
        page_cache.store_when_rendered(response, lambda: self.get_queryset().first_list_expiry())
        return response

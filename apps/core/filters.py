import copy

import django_filters
from django.http import QueryDict


class UuidPrefixFilter(django_filters.CharFilter):
    """`uuid__startswith`, as the CLI's short-uuid lookups send it (dashes included)."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__startswith": value.lower()})


class FilterSet(django_filters.FilterSet):
    """django-filter's FilterSet, set up per request with shallow copies of the filters and one form class.

    The stock FilterSet deep-copies every filter and builds a new form class for each request; for the
    container list's ten filters that was a seventh of the request's CPU (bench/api.py, cProfile). Filters
    here keep no per-request state but `parent`, and their form fields depend on nothing but the class.
    """

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {name: copy.copy(filter_) for name, filter_ in self._bound_base_filters().items()}
        for filter_ in self.filters.values():
            filter_.parent = self

    @classmethod
    def _bound_base_filters(cls):
        if "_model_bound_filters" not in cls.__dict__:
            filters = copy.deepcopy(cls.base_filters)
            for filter_ in filters.values():
                filter_.model = cls._meta.model
            cls._model_bound_filters = filters
        return cls._model_bound_filters

    def get_form_class(self):
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            fields = {name: filter_.field for name, filter_ in cls._bound_base_filters().items()}
            cls._form_class = type(f"{cls.__name__}Form", (cls._meta.form,), fields)
        return cls._form_class

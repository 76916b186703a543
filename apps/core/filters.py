import django_filters


class UuidPrefixFilter(django_filters.CharFilter):
    """`uuid__startswith`, as the CLI's short-uuid lookups send it (dashes included)."""

    def filter(self, qs, value):
        if not value:
            return qs
        return qs.filter(**{f"{self.field_name}__startswith": value.lower()})

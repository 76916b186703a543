"""RFC 2822 datetimes in UTC exactly as the spec's examples print them: `Sun, 6 Apr 2014 17:59:42 +0000`."""

from datetime import UTC, datetime

# Fixed English names: strftime's %a/%b follow the process locale.
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# What format_rfc2822 writes, for the OpenAPI schema.
RFC2822_PATTERN = (
    rf"^({'|'.join(_DAYS)}), [1-9][0-9]? ({'|'.join(_MONTHS)}) [0-9]{{4}} [0-9]{{2}}:[0-9]{{2}}:[0-9]{{2}} \+0000$"
)


def format_rfc2822(value: datetime | None) -> str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return (
        f"{_DAYS[value.weekday()]}, {value.day} {_MONTHS[value.month - 1]} {value.year} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} +0000"
    )

"""Working days and deadlines: pure functions of the institution's calendar (DESIGN: time is UTC,
``now`` passed in; working days and holidays come from configuration).

A deadline of N working days after an event ends at the end of the N-th working day after the
event's local date, in the institution's time zone (23:59:59.999999 local, returned in UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from plugin.kernel.clock import ensure_utc


@dataclass(frozen=True)
class Calendar:
    zone: str = "Asia/Almaty"
    working_weekdays: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO: 1 = Monday
    fixed_holidays: frozenset[str] = frozenset()  # "MM-DD", every year
    holidays: frozenset[date] = frozenset()  # one-off days off

    @classmethod
    def from_settings(cls, zone: str, weekdays: Iterable[int], fixed: Iterable[str], dates: Iterable[str]) -> Calendar:
        return cls(zone=zone, working_weekdays=frozenset(weekdays), fixed_holidays=frozenset(fixed),
                   holidays=frozenset(date.fromisoformat(d) for d in dates))

    def is_working_day(self, day: date) -> bool:
        return (day.isoweekday() in self.working_weekdays and day.strftime("%m-%d") not in self.fixed_holidays
                and day not in self.holidays)

    def local_date(self, moment: datetime) -> date:
        return ensure_utc(moment).astimezone(ZoneInfo(self.zone)).date()

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself does not count)."""
        if days < 0:
            raise ValueError("days must not be negative")
        if not self.working_weekdays:
            raise ValueError("a calendar needs at least one working weekday")
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def end_of_day(self, day: date) -> datetime:
        """The last instant of ``day`` in the institution's zone, in UTC."""
        local = datetime.combine(day, time.max, tzinfo=ZoneInfo(self.zone))
        return local.astimezone(UTC)

    def deadline(self, moment: datetime, working_days: int) -> datetime:
        """End of the ``working_days``-th working day after the local date of ``moment``."""
        return self.end_of_day(self.add_working_days(self.local_date(moment), working_days))

    def working_days_between(self, earlier: datetime, later: datetime) -> int:
        """Whole working days strictly after ``earlier``'s local date up to and including
        ``later``'s (0 when the same day or later is earlier)."""
        start, end = self.local_date(earlier), self.local_date(later)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

"""A chat's own time: zones by name, times of day, quiet windows across midnight and DST."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.core.localtime import (
    find_zone,
    in_window,
    next_at,
    parse_clock,
    parse_window,
    suggest_zones,
    window_end,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_zones_are_found_in_any_case_and_close_names_suggested() -> None:
    assert find_zone("europe/berlin") == "Europe/Berlin"
    assert find_zone(" Asia/Almaty ") == "Asia/Almaty"
    assert find_zone("utc") == "UTC"
    assert find_zone("America/New York") == "America/New_York"
    assert find_zone("Berlin") is None
    assert suggest_zones("Almaty")[0] == "Asia/Almaty"
    assert "Europe/Berlin" in suggest_zones("Europe/Berln")


def test_times_of_day_and_windows() -> None:
    assert [parse_clock(x) for x in ("8:00", "08:30", "8.15", "7h05", "24:00", "8")] == [
        "08:00",
        "08:30",
        "08:15",
        "07:05",
        None,
        None,
    ]
    assert parse_window("22:00-07:00") == ("22:00", "07:00")
    assert parse_window("22:00 – 7:00") == ("22:00", "07:00")
    assert parse_window("22:00-22:00") is None
    assert parse_window("late") is None


def test_a_window_across_midnight_in_the_chats_zone() -> None:
    night = ("22:00", "07:00")
    assert in_window(datetime(2024, 1, 10, 21, 30, tzinfo=UTC), BERLIN, *night)  # 22:30 local
    assert in_window(datetime(2024, 1, 10, 5, 59, tzinfo=UTC), BERLIN, *night)  # 06:59
    assert not in_window(datetime(2024, 1, 10, 6, 0, tzinfo=UTC), BERLIN, *night)  # 07:00
    assert not in_window(datetime(2024, 1, 10, 12, 0, tzinfo=UTC), BERLIN, None, None)
    assert in_window(datetime(2024, 1, 10, 12, 0, tzinfo=UTC), BERLIN, "12:00", "14:00")
    end = window_end(datetime(2024, 1, 10, 21, 30, tzinfo=UTC), BERLIN, "07:00")
    assert end.astimezone(UTC) == datetime(2024, 1, 11, 6, 0, tzinfo=UTC)


def test_a_daily_time_keeps_its_wall_clock_over_a_dst_change() -> None:
    before = datetime(2024, 3, 30, 8, 0, tzinfo=UTC)  # Saturday 09:00 in Berlin (CET)
    first = next_at(before, BERLIN, "08:30")
    assert first.astimezone(UTC) == datetime(2024, 3, 31, 6, 30, tzinfo=UTC)  # CEST
    assert f"{first:%H:%M}" == "08:30"

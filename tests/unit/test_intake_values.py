"""Answers as people type them become canonical values: zones, slots, timestamps, lists."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mentorflow.intake.availability import SlotError, hours_to_bits, parse_slots, utc_hours
from mentorflow.intake.timezones import parse_timezone
from mentorflow.intake.values import (
    is_consent,
    normalise_email,
    parse_number,
    parse_timestamp,
    split_list,
)

CYCLE_START = datetime(2027, 2, 1, 12, tzinfo=UTC)  # winter: Berlin is UTC+1
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("answer", "canonical", "offset"),
    [
        ("Europe/Berlin", "Europe/Berlin", 1.0),
        ("europe/berlin", "Europe/Berlin", 1.0),
        ("America/New York", "America/New_York", -5.0),
        ("Asia/Kolkata", "Asia/Kolkata", 5.5),
        ("UTC+2", "UTC+02:00", 2.0),
        ("UTC -3", "UTC-03:00", -3.0),
        ("GMT+1", "UTC+01:00", 1.0),
        ("+05:30", "UTC+05:30", 5.5),
        ("−0330", "UTC-03:30", -3.5),
        ("UTC", "UTC", 0.0),
        ("MEZ", "Europe/Berlin", 1.0),
    ],
)
def test_time_zone_answers_are_recognised(answer, canonical, offset):
    found = parse_timezone(answer, CYCLE_START)
    assert found is not None
    assert (found.canonical, found.utc_offset) == (canonical, offset)


def test_offset_of_a_zone_with_daylight_saving_is_taken_at_the_cycle_start():
    summer = parse_timezone("Europe/Berlin", datetime(2027, 7, 1, 12, tzinfo=UTC))
    assert summer is not None and summer.utc_offset == 2.0


@pytest.mark.parametrize("answer", ["Berlin Zeit", "UTC+15", "Mars/Olympus", "+25:00", "", "   "])
def test_unknown_time_zones_are_none(answer):
    assert parse_timezone(answer, CYCLE_START) is None


@pytest.mark.parametrize(
    ("answer", "canonical"),
    [
        ("Mo 18-20", ["Mon 18:00-20:00"]),
        ("Di 09:00-11:00", ["Tue 09:00-11:00"]),
        ("Mon 18:00-20:00", ["Mon 18:00-20:00"]),
        ("Donnerstag 7.30 - 9 Uhr", ["Thu 07:30-09:00"]),
        ("Sa. 10–12", ["Sat 10:00-12:00"]),
        ("So 22-01", ["Sun 22:00-01:00"]),
        ("Fr 18-24", ["Fri 18:00-00:00"]),
        ("Mo-Mi 18-19", ["Mon 18:00-19:00", "Tue 18:00-19:00", "Wed 18:00-19:00"]),
    ],
)
def test_slots_in_german_and_english_become_canonical(answer, canonical):
    assert [slot.canonical for slot in parse_slots(answer)] == canonical


@pytest.mark.parametrize("answer", ["Montags", "abends", "Mo 25-26", "Xy 18-20", "18-20", "Mo 18"])
def test_what_is_not_a_slot_is_refused_with_a_reason(answer):
    with pytest.raises(SlotError):
        parse_slots(answer)


def test_canonical_slots_parse_back_to_the_same_slot():
    for answer in ("Fri 18:00-00:00", "Sun 22:00-01:00", "Tue 09:30-11:00"):
        (slot,) = parse_slots(answer)
        assert parse_slots(slot.canonical) == (slot,)


def test_slots_become_utc_hours_of_the_week():
    # Monday 18-20 in Berlin (UTC+1 in February) is Monday 17-19 UTC: hours 17 and 18.
    assert utc_hours(parse_slots("Mo 18-20"), BERLIN, CYCLE_START.date()) == [17, 18]
    # Monday 00-02 in Berlin is Sunday 23:00 UTC .. Monday 01:00: wraps to hour 167.
    assert utc_hours(parse_slots("Mo 00-02"), BERLIN, CYCLE_START.date()) == [0, 167]
    # Only whole hours count: 18:30-20:00 covers 19-20 local only.
    assert utc_hours(parse_slots("Mo 18:30-20:00"), BERLIN, CYCLE_START.date()) == [18]
    assert hours_to_bits([0, 167]) == 1 | (1 << 167)


def test_half_hour_zones_keep_only_whole_utc_hours():
    india = parse_timezone("Asia/Kolkata", CYCLE_START)
    assert india is not None
    # Wed 18-20 IST is 12:30-14:30 UTC: only 13:00-14:00 is whole.
    assert utc_hours(parse_slots("Mi 18-20"), india.tz, CYCLE_START.date()) == [2 * 24 + 13]


def test_google_forms_german_timestamp_is_read_in_the_program_time_zone():
    parsed = parse_timestamp("08.01.2027 22:38:39", "%d.%m.%Y %H:%M:%S", BERLIN)
    assert parsed is not None
    assert parsed.astimezone(UTC) == datetime(2027, 1, 8, 21, 38, 39, tzinfo=UTC)


@pytest.mark.parametrize(
    "text", ["08.01.2027 22:38:39", "2027-01-08T22:38:39", "2027-01-08 22:38", "1/8/2027 22:38:39"]
)
def test_timestamps_in_common_formats_are_accepted_without_a_format(text):
    parsed = parse_timestamp(text, None, BERLIN)
    assert parsed is not None and (parsed.day, parsed.month, parsed.hour) == (8, 1, 22)


def test_unreadable_timestamp_is_none():
    assert parse_timestamp("gestern abend", None, BERLIN) is None


def test_multi_select_answers_split_trim_and_drop_repeats():
    assert split_list(" Karriere ,Python,, Python , Netzwerk ", ",") == [
        "Karriere",
        "Python",
        "Netzwerk",
    ]


@pytest.mark.parametrize(("text", "number"), [("3", 3.0), ("2,5", 2.5), (" 1.0 ", 1.0)])
def test_numbers_with_german_decimal_comma(text, number):
    assert parse_number(text) == number


@pytest.mark.parametrize("text", ["zwei", "", "nan", "inf"])
def test_non_numbers_are_none(text):
    assert parse_number(text) is None


def test_consent_is_a_prefix_match_ignoring_case_and_spaces():
    accept = ("Ja, ich stimme zu",)
    assert is_consent("Ja, ich stimme zu (Version Januar 2027)", accept)
    assert is_consent("  ja,  ich stimme zu", accept)
    assert not is_consent("Nein", accept)
    assert not is_consent("", accept)


def test_emails_are_trimmed_and_lower_cased_but_gmail_dots_are_kept():
    assert normalise_email("  Ada.Lovelace@GMail.com ") == "ada.lovelace@gmail.com"
    assert normalise_email("adalovelace@gmail.com") != normalise_email("ada.lovelace@gmail.com")

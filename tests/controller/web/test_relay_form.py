"""The relay form's text to a relay: each wrong field gets its own message key, a window may run
past midnight but not past six hours, a change keeps what the form does not show (points chosen
one by one, the time zone), and a store refusal lands beside the field it is about."""

from __future__ import annotations

import datetime as dt
from functools import partial

import pytest

from controller.errors import InvalidInputError
from controller.web.relay_form import (
    RelayForm,
    field_of,
    new_relay_id,
    relay_from_form,
    relay_values,
    relay_where,
)
from controller.web.render import translate_in
from controller.web.repeat_form import RepeatForm
from schedules import RelayItem


def form(**change: object) -> RelayForm:
    repeat = change.pop("repeat", RepeatForm("daily", "2026-12-14"))
    fields: dict[str, object] = {
        "title": "VOV1 thời sự",
        "url": "https://radio.vov.vn/vov1.mp3",
        "start": "06:00",
        "end": "06:30",
        "zones": ("thon-dong",),
        **change,
    }
    return RelayForm(repeat=repeat, **fields)  # type: ignore[arg-type]


def test_a_weekly_relay_until_a_date_reads_back_as_typed():
    typed = form(repeat=RepeatForm("weekly", "2026-12-14", ("0", "2", "4"), "", "2027-02-28"))
    item, errors = relay_from_form(typed, "vov1")
    assert errors == {}
    assert item is not None
    assert item.recurrence.weekdays == frozenset({0, 2, 4})
    assert item.recurrence.end_date == dt.date(2027, 2, 28)
    assert item.recurrence.at == dt.time(6, 0)
    assert item.duration_s == 1800
    values = relay_values(item)
    assert (values["start"], values["end"], values["weekdays"], values["until"]) == (
        "06:00",
        "06:30",
        ["0", "2", "4"],
        "2027-02-28",
    )


def test_a_window_past_midnight_runs_into_the_next_day():
    item, errors = relay_from_form(form(start="23:30", end="00:15"), "dem")
    assert errors == {}
    assert item is not None
    assert item.duration_s == 45 * 60
    assert relay_values(item)["end"] == "00:15"


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"title": "  "}, {"title": "relays.error.no_title"}),
        ({"url": ""}, {"url": "relays.error.no_url"}),
        ({"start": "6h"}, {"start": "setup.error.bad_time"}),
        ({"end": "06:00"}, {"end": "relays.error.empty_window"}),
        ({"end": "12:01"}, {"end": "relays.error.too_long"}),
        ({"zones": ()}, {"zones": "setup.error.no_zones"}),
        ({"repeat": RepeatForm("weekly", "2026-12-14")}, {"weekdays": "setup.error.no_weekdays"}),
        (
            {"repeat": RepeatForm("monthly", "2026-12-14", (), "0, 15")},
            {"month_days": "setup.error.bad_month_days"},
        ),
        (
            {"repeat": RepeatForm("daily", "2026-12-14", (), "", "2026-12-01")},
            {"until": "relays.error.until_before"},
        ),
        ({"repeat": RepeatForm("daily", "14/12/2026")}, {"date": "setup.error.bad_date"}),
        ({"repeat": RepeatForm("yearly", "2026-12-14")}, {"repeat": "setup.error.bad_repeat"}),
    ],
)
def test_each_wrong_field_says_so_beside_itself(change, errors):
    assert relay_from_form(form(**change), "vov1") == (None, errors)


def test_a_change_keeps_the_points_and_time_zone_the_form_does_not_show():
    kept = RelayItem.model_validate(
        {
            "id": "vov1",
            "title": "VOV1",
            "url": "https://radio.vov.vn/vov1.mp3",
            "duration_s": 600,
            "recurrence": {"kind": "daily", "start_date": "2026-12-14", "at": "06:00"},
            "nodes": ["loa-1"],
            "timezone": "Asia/Bangkok",
        }
    )
    item, errors = relay_from_form(form(zones=()), "vov1", kept)
    assert errors == {}
    assert item is not None
    assert (item.nodes, item.zones, item.timezone) == (["loa-1"], [], "Asia/Bangkok")


@pytest.mark.parametrize(
    ("field", "beside"),
    [
        ("url", "url"),
        ("zones", "zones"),
        ("targets", "zones"),
        ("start", "start"),
        ("recurrence.end_date", "date"),
        ("id", ""),
        (None, ""),
    ],
)
def test_a_store_refusal_goes_beside_its_field(field, beside):
    assert field_of(InvalidInputError("x", "en", "vi", field=field)) == beside


def test_a_new_relay_id_reads_as_its_vietnamese_title():
    assert new_relay_id("Đài tỉnh: Thời sự trưa")[:-7] == "dai-tinh-thoi-su-trua"
    assert new_relay_id("???").startswith("tiep-am-")


def test_the_list_names_the_villages_and_counts_the_points_chosen_one_by_one():
    item, _ = relay_from_form(form(zones=("thon-dong", "thon-tay")), "vov1")
    assert item is not None
    names = {"thon-dong": "Thôn Đông", "thon-tay": "Thôn Tây"}
    t = partial(translate_in, "vi")
    assert relay_where(item, names, t) == "Thôn Đông, Thôn Tây"
    both = item.model_copy(update={"nodes": ("loa-1", "loa-2")})
    assert relay_where(both, names, t) == "Thôn Đông, Thôn Tây, 2 cụm loa"
    points = item.model_copy(update={"zones": (), "nodes": ("loa-1",)})
    assert relay_where(points, names, t) == "1 cụm loa"

"""What the public may see: only public bulletins that went through and aired where asked."""

from __future__ import annotations

from datetime import timedelta

import pytest

from controller import programme
from controller.models import Alert, Zone, now
from controller.public import listing
from schedules import LOCAL
from tests.controller.commune import Commune
from tests.controller.public.village import put_on_air, raise_alert
from tests.support.programme import item, once
from tests.support.programme import programme as make_programme


def aired_ids(commune: Commune, zone: str | None) -> list[str]:
    with commune.db.session() as s:
        place = s.query(Zone).filter_by(code=zone).one() if zone else None
        return [a.bulletin_id for a in listing.aired(s, place)]


def test_a_public_bulletin_played_in_a_village_is_listed_there_and_for_the_commune(
    commune: Commune,
) -> None:
    bid = put_on_air(commune.config, commune.db, zones=("thon-dong",))
    assert aired_ids(commune, "thon-dong") == [bid]
    assert aired_ids(commune, None) == [bid]
    assert aired_ids(commune, "thon-tay") == []


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"public": False}, "an internal notice"),
        ({"status": "pending"}, "waiting for approval"),
        ({"status": "rejected"}, "rejected"),
        ({"status": "draft"}, "a draft"),
        ({"delivery": "queued"}, "not aired yet"),
        ({"delivery": "ready"}, "waiting at the point"),
        ({"delivery": "failed"}, "failed everywhere"),
        ({"delivery": "cancelled"}, "withdrawn from the programme"),
    ],
)
def test_what_should_not_be_public_is_never_listed(
    commune: Commune, fields: dict[str, object], why: str
) -> None:
    bid = put_on_air(commune.config, commune.db, **fields)  # type: ignore[arg-type]
    assert aired_ids(commune, "thon-dong") == [], why
    with commune.db.session() as s:
        assert listing.is_listed(s, bid) is None, why


@pytest.mark.parametrize("delivery", ["started", "interrupted"])
def test_a_bulletin_started_or_cut_by_an_emergency_counts_as_played(
    commune: Commune, delivery: str
) -> None:
    bid = put_on_air(commune.config, commune.db, delivery=delivery)
    assert aired_ids(commune, "thon-dong") == [bid]
    with commune.db.session() as s:
        assert listing.is_listed(s, bid) is not None


def test_newest_airing_first_and_the_time_is_when_it_was_heard(commune: Commune) -> None:
    earlier = now() - timedelta(days=2)
    old = put_on_air(commune.config, commune.db, title="Cũ", heard_at=earlier)
    new = put_on_air(commune.config, commune.db, title="Mới")
    with commune.db.session() as s:
        shown = listing.aired(s, None)
    assert [a.bulletin_id for a in shown] == [new, old]
    assert abs(shown[1].aired_at - earlier) < timedelta(seconds=1)
    assert shown[1].aired_at.tzinfo is not None


def test_the_spoken_text_goes_with_the_bulletin(commune: Commune) -> None:
    put_on_air(commune.config, commune.db, text="Mời bà con đi tiêm phòng.")
    with commune.db.session() as s:
        assert listing.aired(s, None)[0].text == "Mời bà con đi tiêm phòng."


def test_an_alert_is_public_even_unticked_and_a_cancelled_one_is_taken_back(
    commune: Commune,
) -> None:
    raise_alert(commune.config, commune.db, "Lũ quét trên suối Nậm Mu")
    gone = raise_alert(commune.config, commune.db, "Báo nhầm", state="cancelled")
    with commune.db.session() as s:
        shown = listing.aired(s, None)
        cancelled_bulletin = s.get(Alert, gone)
        assert cancelled_bulletin is not None
        assert listing.is_listed(s, cancelled_bulletin.bulletin_id) is None
    assert [a.text for a in shown] == ["Lũ quét trên suối Nậm Mu"]
    assert shown[0].emergency


def test_alerts_in_force_for_the_village_with_the_correction(commune: Commune) -> None:
    wrong = raise_alert(commune.config, commune.db, "Sơ tán thôn Đông", state="cancelled")
    raise_alert(commune.config, commune.db, "Sơ tán thôn Tây", replaces=wrong)
    raise_alert(commune.config, commune.db, "Chỉ ở Thôn Tây", zones=("thon-tay",))
    with commune.db.session() as s:
        dong = s.query(Zone).filter_by(code="thon-dong").one()
        notices = listing.alerts(s, dong)
    assert [(n.text, n.state, n.corrects) for n in notices] == [
        ("Sơ tán thôn Tây", "active", "Sơ tán thôn Đông")
    ]


def test_a_cancelled_alert_without_correction_is_told_as_cancelled(commune: Commune) -> None:
    raise_alert(commune.config, commune.db, "Báo nhầm", state="cancelled")
    raise_alert(commune.config, commune.db, "Hết hạn", state="expired")
    with commune.db.session() as s:
        assert [(n.text, n.state) for n in listing.alerts(s, None)] == [("Báo nhầm", "cancelled")]


def test_upcoming_shows_public_bulletins_sent_for_later_in_the_village(commune: Commune) -> None:
    later = now() + timedelta(hours=3)
    put_on_air(commune.config, commune.db, title="Họp dân", delivery="ready", play_at=later)
    put_on_air(
        commune.config,
        commune.db,
        title="Họp chi bộ",
        delivery="ready",
        play_at=later,
        public=False,
    )
    with commune.db.session() as s:
        dong = s.query(Zone).filter_by(code="thon-dong").one()
        tay = s.query(Zone).filter_by(code="thon-tay").one()
        assert [u.title for u in listing.upcoming(s, dong)] == ["Họp dân"]
        assert listing.upcoming(s, tay) == []


def test_upcoming_shows_the_programme_items_of_the_village_that_are_public(
    commune: Commune,
) -> None:
    news = put_on_air(commune.config, commune.db, title="Bản tin thời sự", status="approved")
    notice = put_on_air(
        commune.config, commune.db, title="Họp cán bộ", status="approved", public=False
    )
    tomorrow = (now() + timedelta(days=1)).astimezone(LOCAL)
    when = once(tomorrow.date(), tomorrow.time().replace(microsecond=0))
    with commune.db.session() as s:
        programme.save(
            s,
            make_programme(
                item(
                    "tin",
                    bulletin_id=news,
                    title="Bản tin thời sự",
                    recurrence=when,
                    zones=["thon-dong"],
                ),
                item(
                    "hop",
                    bulletin_id=notice,
                    title="Họp cán bộ",
                    recurrence=when,
                    zones=["thon-dong"],
                ),
                slots=[],
            ),
        )
    with commune.db.session() as s:
        dong = s.query(Zone).filter_by(code="thon-dong").one()
        tay = s.query(Zone).filter_by(code="thon-tay").one()
        ahead = listing.upcoming(s, dong)
        assert [u.title for u in ahead] == ["Bản tin thời sự"]
        assert abs(ahead[0].at - tomorrow) < timedelta(seconds=1)
        assert listing.upcoming(s, tay) == []

"""Notice and alert templates on a real database: the built-in ones are there from the first
start, blanks are read from the text, and a template with a broken blank is refused unchanged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from controller.broadcast import message_templates
from controller.errors import InvalidInputError, NotFoundError
from controller.models import AuditEntry, MessageTemplate, User


def admin(s) -> User:
    found: User = s.scalars(select(User).where(User.username == "admin")).one()
    return found


def test_the_built_in_notices_and_alerts_are_seeded_with_their_blanks(commune):
    with commune.db.session() as s:
        notices = {t.name: t for t in message_templates.listed(s, "notice")}
        alerts = {t.name: t for t in message_templates.listed(s, "alert")}
    assert {"Cắt điện", "Tiêm chủng", "Họp dân", "Thu thuế"} <= notices.keys()
    assert {"Bão", "Lũ", "Sạt lở đất"} <= alerts.keys()
    assert notices["Cắt điện"].blanks == ["Lý do", "Từ giờ", "Đến giờ", "Ngày", "Khu vực mất điện"]
    assert "Nơi trú ẩn" in alerts["Bão"].blanks


def test_blanks_are_read_once_in_order():
    assert message_templates.blanks("{Ngày} lúc {Giờ}, lại {Ngày} ở { Nơi }") == [
        "Ngày",
        "Giờ",
        "Nơi",
    ]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("họp lúc {Giờ ngày {Ngày}", "template.braces"),
        ("họp lúc Giờ} ngày {Ngày}", "template.braces"),
        ("họp lúc {} ngày {Ngày}", "template.label"),
        ("", "template.body"),
    ],
)
def test_a_broken_template_is_refused_and_the_stored_one_kept(commune, body, code):
    with commune.db.session() as s:
        first = message_templates.listed(s, "notice")[0]
    with pytest.raises(InvalidInputError) as refused, commune.db.session() as s:
        message_templates.save(
            s, admin(s), template_id=first.id, kind="notice", name="Mới", body=body
        )
    assert refused.value.code == code
    with commune.db.session() as s:
        assert s.get_one(MessageTemplate, first.id).body == first.body


def test_templates_are_added_changed_and_deleted_audited(commune):
    with commune.db.session() as s:
        made = message_templates.save(
            s,
            admin(s),
            template_id=None,
            kind="alert",
            name="Cháy rừng",
            body="Cháy rừng tại {Khu vực}. Bà con tránh xa {Nơi cháy}.",
        )
        made_id = made.id
    with commune.db.session() as s:
        message_templates.save(
            s, admin(s), template_id=made_id, kind="alert", name="Cháy rừng", body="Cháy {Nơi}."
        )
        assert message_templates.get(s, made_id).body == "Cháy {Nơi}."
    with commune.db.session() as s:
        message_templates.delete(s, admin(s), made_id)
    with pytest.raises(NotFoundError), commune.db.session() as s:
        message_templates.get(s, made_id)
    with commune.db.session() as s:
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.target == str(made_id)))
        assert list(actions) == ["template.add", "template.edit", "template.delete"]

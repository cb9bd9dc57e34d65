"""bulletin text, review history, message templates (with the built-in ones)

Revision ID: b8e2d5f0a913
Revises: f2c7a9d4e6b1
Create Date: 2026-12-06 12:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import controller.models

revision = "b8e2d5f0a913"
down_revision = "f2c7a9d4e6b1"
branch_labels = None
depends_on = None

UTC_TIME = controller.models.UTCDateTime(timezone=True)

# The templates a commune starts with; admins and approvers change them in the app. Frozen
# here as the migration's own data: later edits live in the database, not in code. A blank to
# fill is its label in braces.
BUILT_IN: list[tuple[str, str, str]] = [
    (
        "notice",
        "Cắt điện",
        "Thông báo lịch cắt điện. Để {Lý do}, điện lực sẽ tạm ngừng cấp điện từ {Từ giờ} đến "
        "{Đến giờ} ngày {Ngày} tại {Khu vực mất điện}. Đề nghị bà con chủ động sắp xếp sinh "
        "hoạt và sản xuất.",
    ),
    (
        "notice",
        "Tiêm chủng",
        "Thông báo tiêm chủng. Trạm y tế xã tổ chức tiêm {Loại vắc xin} cho {Đối tượng} vào "
        "lúc {Giờ} ngày {Ngày} tại {Địa điểm}. Đề nghị các gia đình đưa người được tiêm đến "
        "đúng giờ và mang theo sổ tiêm chủng.",
    ),
    (
        "notice",
        "Họp dân",
        "Thông báo họp dân. Kính mời đại diện các hộ gia đình {Thôn, xóm} đến dự họp vào lúc "
        "{Giờ} ngày {Ngày} tại {Địa điểm}. Nội dung: {Nội dung cuộc họp}. Đề nghị bà con đến "
        "đầy đủ, đúng giờ.",
    ),
    (
        "notice",
        "Thu thuế",
        "Thông báo thu thuế. Ủy ban nhân dân xã thông báo thu {Loại thuế} từ ngày {Từ ngày} "
        "đến ngày {Đến ngày} tại {Địa điểm nộp}. Đề nghị các hộ gia đình nộp đúng hạn.",
    ),
    (
        "notice",
        "Ngừng cấp nước",
        "Thông báo ngừng cấp nước. Để {Lý do}, nước sạch sẽ ngừng cấp từ {Từ giờ} đến {Đến "
        "giờ} ngày {Ngày} tại {Khu vực}. Đề nghị bà con chủ động trữ nước.",
    ),
    (
        "notice",
        "Tổng vệ sinh môi trường",
        "Thông báo tổng vệ sinh môi trường. Vào lúc {Giờ} ngày {Ngày}, xã tổ chức tổng vệ "
        "sinh đường làng, ngõ xóm tại {Thôn, xóm}. Đề nghị mỗi hộ cử một người tham gia, mang"
        " theo {Dụng cụ mang theo}.",
    ),
    (
        "alert",
        "Bão",
        "Khẩn cấp! Bão {Tên cơn bão} đang tiến vào khu vực, dự kiến ảnh hưởng trực tiếp đến "
        "{Khu vực bị ảnh hưởng} từ {Thời gian}, gió mạnh cấp {Cấp gió}. Bà con chằng chống "
        "nhà cửa, không ra biển, không ra đồng; người ở nhà không an toàn di chuyển ngay đến "
        "{Nơi trú ẩn}.",
    ),
    (
        "alert",
        "Lũ",
        "Khẩn cấp! Nước sông {Tên sông} đang lên nhanh, dự kiến ngập {Khu vực sẽ ngập} từ "
        "{Thời gian}. Bà con kê cao tài sản, đưa người già và trẻ em đến {Nơi trú ẩn}. Không "
        "đi qua ngầm, tràn và vùng nước chảy xiết.",
    ),
    (
        "alert",
        "Sạt lở đất",
        "Khẩn cấp! Nguy cơ sạt lở đất rất cao tại {Thôn, xóm} do mưa lớn kéo dài. Các hộ gia "
        "đình ở gần {Vị trí nguy hiểm} di dời ngay đến {Nơi trú ẩn}. Không ở lại trong nhà, "
        "không đi qua khu vực sạt lở.",
    ),
]


def upgrade() -> None:
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text", sa.Text(), server_default="", nullable=False))
    reviews = op.create_table(
        "bulletin_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bulletin_id", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["bulletin_id"], ["bulletins.id"]),
        sa.ForeignKeyConstraint(["reviewer_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bulletin_reviews_bulletin_id", "bulletin_reviews", ["bulletin_id"])
    # the decisions made before the history existed: the latest of each reviewed bulletin
    bulletins = sa.table(
        "bulletins",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("reviewed_by", sa.Integer),
        sa.column("reviewed_at", UTC_TIME),
        sa.column("review_comment", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(bulletins).where(
            bulletins.c.reviewed_by.is_not(None), bulletins.c.reviewed_at.is_not(None)
        )
    ).all()
    op.bulk_insert(
        reviews,
        [
            {
                "bulletin_id": r.id,
                "decision": "rejected" if r.status == "rejected" else "approved",
                "comment": r.review_comment or "",
                "reviewer_id": r.reviewed_by,
                "at": r.reviewed_at,
            }
            for r in rows
        ],
    )
    templates = op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_message_templates_kind", "message_templates", ["kind"])
    at = datetime.now(UTC)
    op.bulk_insert(
        templates,
        [
            {
                "kind": kind,
                "name": name,
                "body": body,
                "updated_by": "",
                "updated_at": at,
            }
            for kind, name, body in BUILT_IN
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_message_templates_kind", "message_templates")
    op.drop_table("message_templates")
    op.drop_index("ix_bulletin_reviews_bulletin_id", "bulletin_reviews")
    op.drop_table("bulletin_reviews")
    with op.batch_alter_table("bulletins", schema=None) as batch_op:
        batch_op.drop_column("text")

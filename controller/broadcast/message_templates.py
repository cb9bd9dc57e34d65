"""Notice and alert templates: a text with blanks, each blank its label in braces ("ngừng cấp
điện từ {Từ giờ} đến {Đến giờ}"). The broadcaster fills the blanks on the compose or emergency
page and gets a text to read over and change; admins and approvers keep the templates (seeded
with the built-in ones by the migration that made the table).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller import audit
from controller.errors import InvalidInputError, NotFoundError
from controller.models import MessageTemplate, User, now

KINDS = ("notice", "alert")
MAX_NAME = 120
MAX_BODY = 5000
MAX_LABEL = 60
BLANK = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class TemplateView:
    """What the pages need: the blanks in the order they are asked for (the page fills them in
    the browser, and the text it makes is the broadcaster's to read over and change)."""

    id: int
    kind: str
    name: str
    body: str
    blanks: list[str]

    def picker(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name, "body": self.body, "blanks": self.blanks}


def blanks(body: str) -> list[str]:
    """Each blank's label once, in the order it first appears."""
    return list(dict.fromkeys(label.strip() for label in BLANK.findall(body)))


def listed(s: Session, kind: str | None = None) -> list[TemplateView]:
    query = select(MessageTemplate).order_by(MessageTemplate.kind, MessageTemplate.name)
    if kind is not None:
        query = query.where(MessageTemplate.kind == kind)
    return [TemplateView(t.id, t.kind, t.name, t.body, blanks(t.body)) for t in s.scalars(query)]


def _checked(kind: str, name: str, body: str) -> tuple[str, str]:
    name, body = " ".join(name.split()), body.strip()
    if kind not in KINDS:
        raise InvalidInputError(
            "template.kind", "kind is notice or alert", "Loại mẫu không hợp lệ", field="kind"
        )
    if not name or len(name) > MAX_NAME:
        raise InvalidInputError(
            "template.name",
            f"give the template a name of at most {MAX_NAME} characters",
            f"Hãy đặt tên mẫu, tối đa {MAX_NAME} ký tự",
            field="name",
        )
    if not body or len(body) > MAX_BODY:
        raise InvalidInputError(
            "template.body",
            f"the text is empty or longer than {MAX_BODY} characters",
            f"Nội dung mẫu trống hoặc dài quá {MAX_BODY} ký tự",
            field="body",
        )
    if BLANK.sub("", body).count("{") or BLANK.sub("", body).count("}"):
        raise InvalidInputError(
            "template.braces",
            "every blank is a label between { and }: a brace is missing",
            "Mỗi chỗ trống là một nhãn nằm giữa { và }: đang thiếu một dấu ngoặc",
            field="body",
        )
    if any(not label or len(label) > MAX_LABEL for label in blanks(body)):
        raise InvalidInputError(
            "template.label",
            f"each blank needs a label of 1 to {MAX_LABEL} characters, e.g. {{Ngày}}",
            f"Mỗi chỗ trống cần một nhãn từ 1 đến {MAX_LABEL} ký tự, ví dụ {{Ngày}}",
            field="body",
        )
    return name, body


def save(
    s: Session,
    user: User,
    *,
    template_id: int | None,
    kind: str,
    name: str,
    body: str,
) -> MessageTemplate:
    """Add a template (``template_id`` None) or change one; audited."""
    name, body = _checked(kind, name, body)
    if template_id is None:
        row = MessageTemplate(kind=kind, name=name, body=body)
        s.add(row)
    else:
        row = get(s, template_id)
        row.kind, row.name, row.body = kind, name, body
    row.updated_by, row.updated_at = user.username, now()
    s.flush()
    action = "template.add" if template_id is None else "template.edit"
    audit.record(s, user.username, action, str(row.id), kind=kind, name=name)
    return row


def delete(s: Session, user: User, template_id: int) -> None:
    row = get(s, template_id)
    s.delete(row)
    audit.record(s, user.username, "template.delete", str(template_id), name=row.name)


def get(s: Session, template_id: int) -> MessageTemplate:
    row = s.get(MessageTemplate, template_id)
    if row is None:
        raise NotFoundError(
            "template.unknown", f"no template {template_id}", "Không có mẫu này", field="template"
        )
    return row

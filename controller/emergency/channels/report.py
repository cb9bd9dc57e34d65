"""An alert's delivery on each channel: sent, failed, pending (being retried) and cancelled,
with the reasons, for the alert's report (API and web page)."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.models import ChannelMessage
from controller.schemas import ChannelReport, ReasonCount


def channel_report(s: Session, alert_id: str) -> list[ChannelReport]:
    rows = s.scalars(
        select(ChannelMessage)
        .where(ChannelMessage.alert_id == alert_id)
        .order_by(ChannelMessage.id)
    ).all()
    reports = []
    for channel in ("sms", "zalo", "board"):
        mine = [r for r in rows if r.channel == channel]
        if not mine:
            continue
        status = Counter(r.status for r in mine)
        reasons = Counter(r.reason for r in mine if r.reason and r.status in ("failed", "pending"))
        reports.append(
            ChannelReport(
                channel=channel,
                total=len(mine),
                sent=status["sent"],
                failed=status["failed"],
                pending=status["pending"],
                cancelled=status["cancelled"],
                shortened=sum(1 for r in mine if r.shortened),
                sms_parts=sum(r.parts for r in mine if r.status == "sent" and channel == "sms"),
                reasons=[ReasonCount(reason=k, count=v) for k, v in reasons.most_common()],
            )
        )
    return reports

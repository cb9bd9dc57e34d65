"""The programme: slots, one-off and recurring items, priorities, quiet hours (pure Python)."""

from protocol.messages import Priority
from schedules.conflicts import Conflict, airing_in_quiet, check_item, in_quiet_hours
from schedules.expand import Occurrence, expand
from schedules.grace import LateStart, late_start, late_start_allowed
from schedules.loader import (
    EXAMPLES_DIR,
    dump_programme,
    load_programme,
    parse_programme,
    save_programme,
)
from schedules.model import (
    LAST_DATE,
    LOCAL,
    LOCAL_TZ_NAME,
    PRIORITY_RANK,
    Programme,
    ProgrammeItem,
    QuietHours,
    Recurrence,
    Slot,
    priority_label_vi,
)
from schedules.relay import RelayItem, Window, first_clash

__all__ = [
    "EXAMPLES_DIR",
    "LAST_DATE",
    "LOCAL",
    "LOCAL_TZ_NAME",
    "PRIORITY_RANK",
    "Conflict",
    "LateStart",
    "Occurrence",
    "Priority",
    "Programme",
    "ProgrammeItem",
    "QuietHours",
    "Recurrence",
    "RelayItem",
    "Slot",
    "Window",
    "airing_in_quiet",
    "check_item",
    "dump_programme",
    "expand",
    "first_clash",
    "in_quiet_hours",
    "late_start",
    "late_start_allowed",
    "load_programme",
    "parse_programme",
    "priority_label_vi",
    "save_programme",
]

"""What aired: the per-bulletin report (which points played it, which did not and why) and the
commune's monthly report. Pure computation; the words around the numbers belong to the caller.
"""

from controller.reports.bulletin import bulletin_out, bulletin_report
from controller.reports.monthly import (
    MonthlyReport,
    PointRow,
    VillageRow,
    month_bounds,
    monthly_report,
    parse_month,
)

__all__ = [
    "MonthlyReport",
    "PointRow",
    "VillageRow",
    "bulletin_out",
    "bulletin_report",
    "month_bounds",
    "monthly_report",
    "parse_month",
]

"""A live session's figures at one point, in words for the report page: how long the point
carried the voice, the short drop-outs its link caused (filled in, so listeners heard a blur
rather than silence), and each break after which it came back (its agent restarted, an
emergency cut in). The packet counts go to the "Chi tiết kỹ thuật" fold."""

from __future__ import annotations

from controller.schemas import NodeReport
from controller.web.i18n import translate


def spoken_length(seconds: float, lang: str) -> str:
    """ "2 phút 5 giây", "40 giây": how a broadcaster says a length, not "2:05"."""
    whole = round(seconds)
    minutes, rest = divmod(whole, 60)
    if minutes and rest:
        return translate("reports.live.min_s", lang, m=minutes, s=rest)
    if minutes:
        return translate("reports.live.min", lang, m=minutes)
    return translate("reports.live.s", lang, s=rest)


def figure(value: float, lang: str) -> str:
    text = f"{value:.1f}"
    return text.replace(".", ",") if lang == "vi" else text  # the Vietnamese decimal comma


def live_words(n: NodeReport, lang: str) -> tuple[str, str]:
    """(plain words, technical figures) for a live session's row; ("", "") for a bulletin."""
    if n.live_seconds is None:
        return "", ""
    plain = [translate("reports.live.carried", lang, length=spoken_length(n.live_seconds, lang))]
    if n.live_gaps:
        plain.append(translate("reports.live.gaps", lang, count=n.live_gaps))
    technical = [
        f"{figure(n.live_seconds, lang)} s; "
        f"packets lost (concealed) {n.live_lost or 0} in {n.live_gaps or 0} gaps"
    ]
    for cut in n.live_breaks or []:
        back = "back" if cut.rejoined else "gone"
        if cut.seconds is None:
            plain.append(translate(f"reports.live.break.{cut.reason}.{back}.unknown", lang))
        else:
            length = spoken_length(cut.seconds, lang)
            plain.append(translate(f"reports.live.break.{cut.reason}.{back}", lang, length=length))
        seconds = "? s" if cut.seconds is None else f"{figure(cut.seconds, lang)} s"
        rejoined = "rejoined" if cut.rejoined else "did not rejoin"
        technical.append(f"break {cut.reason} {seconds}, {rejoined}: {cut.detail}")
    return "; ".join(plain) + ".", "; ".join(technical)

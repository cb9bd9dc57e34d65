"""`label.png`: the printable label stuck on a loudspeaker point's box.

A technician on a ladder scans the QR code to open the point's page (status, volume, test tone,
stop) on a phone, reads the point's name and village to know they are at the right pole, and
types the controller's certificate fingerprint into ``loa node enrol`` when replacing the Pi.
Drawn at 300 dpi for a 100 × 50 mm label, in DejaVu Sans (Debian's fonts-dejavu-core), which has
every Vietnamese letter.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import segno
from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
WIDTH, HEIGHT = 1181, 591  # 100 × 50 mm at 300 dpi
MARGIN = 30
QR_SIZE = HEIGHT - 2 * MARGIN
TEXT_LEFT = MARGIN + QR_SIZE + 30
TEXT_WIDTH = WIDTH - TEXT_LEFT - MARGIN
MIN_SIZE = 14  # below this a printed line is no longer readable at arm's length

REGULAR, BOLD, MONO = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf"

Box = tuple[int, int, int, int]
Font = ImageFont.FreeTypeFont


class LabelError(ValueError):
    """The label cannot be drawn (no font, or text that does not fit); nothing was written."""


@dataclass(frozen=True)
class LabelFacts:
    point_name: str
    zone_name: str
    node_id: str
    url: str  # the point's page in the web app: what the QR code opens
    fingerprint: str | None  # the controller's HTTPS certificate, grouped; None without HTTPS
    commune: str = ""


@dataclass(frozen=True)
class Line:
    """One piece of text, drawn as large as fits (down to MIN_SIZE) in ``max_lines`` lines."""

    key: str
    text: str
    face: str
    size: int  # the largest, in pixels
    max_lines: int = 1
    gap: int = 12  # above it


@dataclass
class Label:
    image: Image.Image
    boxes: dict[str, Box] = field(default_factory=dict)  # where each piece of text was drawn

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, "PNG", dpi=(300, 300))
        return out.getvalue()


def font(name: str, size: int) -> Font:
    path = FONT_DIR / name
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        raise LabelError(
            f"font {path} is missing: install fonts-dejavu-core (it has the Vietnamese letters)"
        ) from None


def draw(facts: LabelFacts) -> Label:
    image = Image.new("L", (WIDTH, HEIGHT), 255)
    pen = ImageDraw.Draw(image)
    label = Label(image)
    _draw_qr(image, facts.url)
    lines = [
        Line("commune", facts.commune, REGULAR, 26),
        Line("name", facts.point_name, BOLD, 60, max_lines=2),
        Line("zone", facts.zone_name, REGULAR, 40),
        Line("node_id", f"Mã điểm / Point id: {facts.node_id}", REGULAR, 26),
        Line("scan", "Quét mã để mở trang điểm loa / Scan for the point's page", REGULAR, 22, 2),
    ]
    if facts.fingerprint:
        lines += [
            Line("fp_title", "Vân tay HTTPS / fingerprint (SHA-256):", REGULAR, 20, gap=18),
            Line("fingerprint", facts.fingerprint, MONO, 26, max_lines=4, gap=4),
        ]
    y = MARGIN
    for line in lines:
        if line.text:
            y = _text(pen, label, line, y + line.gap)
    if y > HEIGHT - MARGIN // 2:
        raise LabelError("the label's text does not fit: shorten the point's name")
    return label


def _draw_qr(image: Image.Image, url: str) -> None:
    qr = segno.make(url, error="m", micro=False)
    modules = [list(row) for row in qr.matrix]
    border = 4  # the quiet zone scanners need
    count = len(modules) + 2 * border
    scale = QR_SIZE // count
    offset = MARGIN + (QR_SIZE - scale * count) // 2
    pen = ImageDraw.Draw(image)
    for r, row in enumerate(modules):
        for c, dark in enumerate(row):
            if dark:
                x, y = offset + (c + border) * scale, offset + (r + border) * scale
                pen.rectangle((x, y, x + scale - 1, y + scale - 1), fill=0)


def _text(pen: ImageDraw.ImageDraw, label: Label, line: Line, y: int) -> int:
    """Draw ``line`` from ``y``, as large as fits in its lines; the y below it."""
    for points in range(line.size, MIN_SIZE - 1, -2):
        chosen = font(line.face, points)
        wrapped = _wrap(pen, line.text, chosen, line.max_lines)
        if wrapped is not None:
            break
    else:
        raise LabelError(f"{line.text!r} does not fit on the label: shorten it")
    top = y
    right = TEXT_LEFT
    for part in wrapped:
        box = pen.textbbox((TEXT_LEFT, y), part, font=chosen)
        pen.text((TEXT_LEFT, y), part, font=chosen, fill=0)
        right = max(right, int(box[2]))
        y = int(box[3]) + 4
    label.boxes[line.key] = (TEXT_LEFT, top, right, y)
    return y


def _wrap(pen: ImageDraw.ImageDraw, text: str, chosen: Font, max_lines: int) -> list[str] | None:
    """``text`` in at most ``max_lines`` lines of the text column, or None if it cannot be."""
    lines: list[str] = []
    for word in text.split():
        if pen.textlength(word, font=chosen) > TEXT_WIDTH:
            return None
        if lines and pen.textlength(f"{lines[-1]} {word}", font=chosen) <= TEXT_WIDTH:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines if len(lines) <= max_lines else None

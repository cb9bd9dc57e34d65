"""QR posters for the notice board: a villager scans the code to hear the village's bulletins again.

One poster per village, or per loudspeaker point (the same village page, with the point named so
that the poster on the pole says which loudspeaker it is). A4 or A5, drawn at 300 dpi in DejaVu
Sans (fonts-dejavu-core has every Vietnamese letter), saved as PNG or PDF.

The PDF is the same 300 dpi picture, bilevel and CCITT G4 compressed (lossless, some tens of KB),
on a page of exactly the paper's size: 300 dpi is what the printer prints, so vector text
(fpdf2, reportlab) would add a dependency and font embedding for nothing visible, and a raster
page prints the same on every PDF viewer.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

import segno
from PIL import Image, ImageDraw
from sqlalchemy import select
from sqlalchemy.orm import Session

from controller.config import ControllerConfig
from controller.errors import InvalidInputError, NotFoundError
from controller.models import Node, Zone
from controller.nodes.label import BOLD, MONO, REGULAR, Font, font

DPI = 300
Size = Literal["a4", "a5"]
Format = Literal["png", "pdf"]
SIZES: dict[str, tuple[int, int]] = {"a4": (210, 297), "a5": (148, 210)}  # mm
FORMATS = ("png", "pdf")
MIN_QR_SHARE = 0.45  # a QR narrower than this share of the page is too small from a step away
SCALES = (1.0, 0.8, 0.65)  # the text's sizes tried in turn, to leave the QR code its room

INSTRUCTION = "Quét mã để nghe lại bản tin của thôn"
INSTRUCTION_EN = "Scan to listen again to the village's bulletins"

Box = tuple[int, int, int, int]


def pixels(size: str) -> tuple[int, int]:
    """The page of ``size`` in pixels at 300 dpi."""
    width_mm, height_mm = SIZES[size]
    return round(width_mm / 25.4 * DPI), round(height_mm / 25.4 * DPI)


@dataclass(frozen=True)
class PosterFacts:
    commune: str
    zone_name: str
    url: str  # the village's listen-again page: what the QR code opens
    point_name: str = ""  # a point's poster names its loudspeaker


@dataclass
class Poster:
    image: Image.Image
    boxes: dict[str, Box] = field(default_factory=dict)  # where each part was drawn

    def png(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, "PNG", dpi=(DPI, DPI))
        return out.getvalue()

    def pdf(self) -> bytes:
        out = io.BytesIO()
        # Bilevel: Pillow then stores it CCITT G4, lossless, rather than as a lossy JPEG.
        self.image.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=None).save(
            out, "PDF", resolution=float(DPI), title="Loa Làng", producer="Loa Làng"
        )
        return out.getvalue()

    def encoded(self, fmt: str) -> bytes:
        return self.pdf() if fmt == "pdf" else self.png()


def listen_url(config: ControllerConfig, zone_code: str) -> str:
    return f"{config.web_url}/listen/{quote(zone_code, safe='')}"


def zone_facts(s: Session, config: ControllerConfig, zone_code: str) -> PosterFacts:
    zone = s.scalar(select(Zone).where(Zone.code == zone_code))
    if zone is None:
        raise NotFoundError(
            "targets.unknown_zone",
            f"no village with the code {zone_code!r}",
            f"Không có thôn nào mã {zone_code!r}",
            field="zone",
        )
    return PosterFacts(config.commune_name, zone.name, listen_url(config, zone.code))


def node_facts(s: Session, config: ControllerConfig, node_id: str) -> PosterFacts:
    node = s.get(Node, node_id)
    if node is None:
        raise NotFoundError(
            "nodes.unknown",
            f"no loudspeaker point {node_id!r}",
            f"Không có điểm loa {node_id!r}",
            field="node",
        )
    return PosterFacts(
        config.commune_name, node.zone.name, listen_url(config, node.zone.code), node.name
    )


def checked(size: str, fmt: str) -> tuple[str, str]:
    """``size`` and ``fmt`` if they are ones a poster comes in; a clear refusal otherwise."""
    if size not in SIZES:
        raise InvalidInputError(
            "poster.size", "the size is a4 or a5", "Khổ giấy là a4 hoặc a5", field="size"
        )
    if fmt not in FORMATS:
        raise InvalidInputError(
            "poster.format", "the format is png or pdf", "Định dạng là png hoặc pdf", field="format"
        )
    return size, fmt


@dataclass(frozen=True)
class Part:
    key: str
    text: str
    face: str
    size: float  # the largest, as a share of the page's width
    max_lines: int = 1
    anywhere: bool = False  # may break inside a word (a URL has no spaces)


def draw(facts: PosterFacts, size: str) -> Poster:
    """The poster of ``facts`` on a page of ``size``; long names make all the text smaller
    (down to ``SCALES[-1]``) before the QR code gets too small: then InvalidInputError."""
    width, height = pixels(size)
    image = Image.new("L", (width, height), 255)
    pen = ImageDraw.Draw(image)
    poster = Poster(image)
    margin, gap = width // 14, width // 30
    column = width - 2 * margin
    point = f"Điểm loa: {facts.point_name}" if facts.point_name else ""
    top = [
        Part("commune", facts.commune, REGULAR, 0.04, 2),
        Part("zone", facts.zone_name, BOLD, 0.075, 2),
        Part("point", point, REGULAR, 0.04, 2),
    ]
    bottom = [
        Part("instruction", INSTRUCTION, BOLD, 0.05, 2),
        Part("instruction_en", INSTRUCTION_EN, REGULAR, 0.025, 2),
        Part("url", facts.url, MONO, 0.03, 3, anywhere=True),
    ]
    for scale in SCALES:
        try:
            placed_top = [(p, _fit(pen, p, width * scale, column)) for p in top if p.text]
            placed_bottom = [(p, _fit(pen, p, width * scale, column)) for p in bottom]
        except InvalidInputError:
            continue
        top_height = sum(_height(pen, chosen, lines) for _, (chosen, lines) in placed_top)
        bottom_height = sum(_height(pen, f, lines) + gap for _, (f, lines) in placed_bottom)
        qr_side = min(column, height - 2 * margin - top_height - bottom_height - 2 * gap)
        if qr_side >= MIN_QR_SHARE * width:
            break
    else:
        raise InvalidInputError(
            "poster.too_much_text",
            "the names are too long for the poster: shorten them",
            "Tên quá dài, không vừa áp phích: hãy rút gọn tên",
        )
    y = margin
    for part, (chosen, lines) in placed_top:
        y = _draw_lines(pen, poster, part.key, chosen, lines, y=y, width=width)
    poster.boxes["qr"] = _draw_qr(image, facts.url, (width - qr_side) // 2, y + gap, qr_side)
    y = height - margin - bottom_height
    for part, (chosen, lines) in placed_bottom:
        y = _draw_lines(pen, poster, part.key, chosen, lines, y=y + gap, width=width)
    return poster


def _draw_qr(image: Image.Image, url: str, left: int, top: int, side: int) -> Box:
    """The QR code of ``url`` as large as fits in ``side`` pixels, in whole pixels per module
    (a scaled module of uneven width blurs the code), centred in that square."""
    qr = segno.make(url, error="m", micro=False)
    border = 4  # the quiet zone scanners need
    modules = qr.matrix
    count = len(modules) + 2 * border
    small = Image.new("L", (count, count), 255)
    small.putdata([0 if dark else 255 for row in qr.matrix_iter(border=border) for dark in row])
    scale = side // count
    drawn = small.resize((count * scale, count * scale), Image.Resampling.NEAREST)
    x, y = left + (side - count * scale) // 2, top + (side - count * scale) // 2
    image.paste(drawn, (x, y))
    return (x, y, x + count * scale, y + count * scale)


def _fit(pen: ImageDraw.ImageDraw, part: Part, width: float, column: int) -> tuple[Font, list[str]]:
    """The largest font (down to half the part's size) in which ``part`` fits its lines."""
    largest = max(12, round(part.size * width))
    # A URL broken across lines is hard to type: smaller on one line first, then wrapped.
    for allowed in range(1, part.max_lines + 1) if part.anywhere else [part.max_lines]:
        for points in range(largest, largest // 2 - 1, -max(1, largest // 40)):
            chosen = font(part.face, points)
            lines = _wrap(pen, part.text, chosen, column, anywhere=part.anywhere)
            if lines is not None and len(lines) <= allowed:
                return chosen, lines
    raise InvalidInputError(
        "poster.too_much_text",
        f"{part.text!r} does not fit on the poster: shorten it",
        f"{part.text!r} quá dài, không vừa áp phích: hãy rút gọn",
    )


def _wrap(
    pen: ImageDraw.ImageDraw, text: str, chosen: Font, column: int, *, anywhere: bool
) -> list[str] | None:
    """``text`` in lines no wider than ``column``; None if a word alone is wider."""
    pieces = list(text) if anywhere else text.split()
    joiner = "" if anywhere else " "
    lines: list[str] = []
    for piece in pieces:
        if pen.textlength(piece, font=chosen) > column:
            return None
        if lines and pen.textlength(f"{lines[-1]}{joiner}{piece}", font=chosen) <= column:
            lines[-1] = f"{lines[-1]}{joiner}{piece}"
        else:
            lines.append(piece)
    return lines


def _height(pen: ImageDraw.ImageDraw, chosen: Font, lines: list[str]) -> int:
    return sum(_line_height(pen, chosen) for _ in lines)


def _line_height(pen: ImageDraw.ImageDraw, chosen: Font) -> int:
    """One line's height, the same for every line of a font (accents and descenders included)."""
    box = pen.textbbox((0, 0), "ẤỹgĐ", font=chosen)
    return int(box[3] - box[1]) + int(chosen.size) // 4


def _draw_lines(
    pen: ImageDraw.ImageDraw,
    poster: Poster,
    key: str,
    chosen: Font,
    lines: list[str],
    *,
    y: int,
    width: int,
) -> int:
    """``lines`` centred from ``y``; the y below them."""
    top, left, right = y, width, 0
    for line in lines:
        length = int(pen.textlength(line, font=chosen))
        x = (width - length) // 2
        pen.text((x, y), line, font=chosen, fill=0)
        left, right = min(left, x), max(right, x + length)
        y += _line_height(pen, chosen)
    poster.boxes[key] = (left, top, right, y)
    return y

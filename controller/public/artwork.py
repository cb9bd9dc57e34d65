"""The podcast's cover: podcast apps show one and some refuse a feed without it (Apple asks
for a square RGB PNG or JPEG of 1400–3000 px). Drawn once per commune name with Pillow, in
DejaVu Sans (it has every Vietnamese letter), and kept beside the audio renditions."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw

from controller.config import ControllerConfig
from controller.nodes.label import BOLD, REGULAR, font
from controller.public.renditions import folder

SIZE = 1400
MARGIN = 110
BACKGROUND = (11, 74, 139)
INK = (255, 255, 255)
FITS = ((150, 12), (120, 15), (96, 19), (76, 24))  # (font px, characters a line)


def artwork(config: ControllerConfig) -> Path:
    """The cover for this commune, drawn now if it is missing (a new name draws a new one)."""
    name = config.commune_name
    key = hashlib.sha256(name.encode()).hexdigest()[:16]
    out = folder(config) / f"cover-{key}.png"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        part = out.with_name(f".{out.name}.part")
        _draw(name).save(part, "PNG")
        part.replace(out)
    return out


def _draw(commune: str) -> Image.Image:
    image = Image.new("RGB", (SIZE, SIZE), BACKGROUND)
    pen = ImageDraw.Draw(image)
    pen.text((MARGIN, MARGIN), "LOA LÀNG", font=font(BOLD, 150), fill=INK)
    pen.text((MARGIN, MARGIN + 200), "Nghe lại · Listen again", font=font(REGULAR, 70), fill=INK)
    # the commune's name as large as fits in three lines (characters a line at each size)
    size, lines = next(
        ((size, lines) for size, width in FITS if len(lines := _wrap(commune, width)) <= 3),
        (FITS[-1][0], _wrap(commune, FITS[-1][1])[:3]),
    )
    top = SIZE - MARGIN - len(lines) * int(size * 1.2)
    for n, line in enumerate(lines):
        pen.text((MARGIN, top + n * int(size * 1.2)), line, font=font(BOLD, size), fill=INK)
    return image


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width) or [""]

"""QR posters: the code reads back as the village's listen-again page from the PNG and from the
PDF as a viewer renders it, the page is the paper's size, and the Vietnamese text is drawn."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageChops

from controller.errors import InvalidInputError
from controller.public import posters
from tests.controller.commune import Commune
from tests.support.provisioning import loa

FACTS = posters.PosterFacts(
    commune="Xã Hòa Bình",
    zone_name="Thôn Đông Xuyên",
    url="https://loa.xa-hoa-binh.vn/listen/thon-dong-xuyen",
    point_name="Loa nhà văn hóa",
)
MM_PER_PT = 25.4 / 72


def decoded(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def page_size_mm(pdf: Path) -> tuple[float, float]:
    """The page size as a PDF viewer reads it (poppler's pdfinfo), in millimetres."""
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    found = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info.stdout)
    assert found, info.stdout
    return float(found[1]) * MM_PER_PT, float(found[2]) * MM_PER_PT


def rendered(pdf: Path, tmp_path: Path) -> Image.Image:
    """The PDF's one page rendered by poppler, as a printer driver would."""
    page = ["pdftoppm", "-r", "150", "-png", "-singlefile", str(pdf), str(tmp_path / "p")]
    subprocess.run(page, check=True)
    return Image.open(tmp_path / "p.png")


@pytest.mark.parametrize(("size", "pixels"), [("a4", (2480, 3508)), ("a5", (1748, 2480))])
def test_the_png_is_the_paper_at_300_dpi_and_its_qr_opens_the_village_page(size, pixels):
    image = Image.open(io.BytesIO(posters.draw(FACTS, size).png()))
    assert image.size == pixels
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert decoded(image) == [FACTS.url]


@pytest.mark.parametrize(("size", "mm"), [("a4", (210, 297)), ("a5", (148, 210))])
def test_the_pdf_page_is_the_paper_and_its_rendered_qr_opens_the_village_page(size, mm, tmp_path):
    pdf = tmp_path / "poster.pdf"
    pdf.write_bytes(posters.draw(FACTS, size).pdf())
    assert page_size_mm(pdf) == pytest.approx(mm, abs=0.5)
    assert decoded(rendered(pdf, tmp_path)) == [FACTS.url]


def test_every_part_is_drawn_on_the_page_in_order_and_none_over_another():
    drawn = posters.draw(FACTS, "a5")
    keys = ["commune", "zone", "point", "qr", "instruction", "instruction_en", "url"]
    assert list(drawn.boxes) == keys
    width, height = drawn.image.size
    bottoms = 0
    for key in keys:
        left, top, right, bottom = drawn.boxes[key]
        assert 0 < left < right < width, key
        assert bottoms <= top < bottom < height, key  # below the part above it
        assert np.asarray(drawn.image.crop(drawn.boxes[key])).min() < 100, key
        bottoms = bottom
    qr_left, _, qr_right, _ = drawn.boxes["qr"]
    assert qr_right - qr_left >= 0.55 * width  # large enough to scan from a step away


def test_the_village_poster_names_no_point():
    drawn = posters.draw(posters.PosterFacts("Xã Hòa Bình", "Thôn Tây", FACTS.url), "a4")
    assert "point" not in drawn.boxes
    assert decoded(drawn.image) == [FACTS.url]


def test_vietnamese_marks_are_drawn_not_dropped():
    """The same name without its tone marks must look different where the name is drawn."""
    marked = posters.draw(FACTS, "a5")
    plain = posters.draw(
        posters.PosterFacts("Xa Hoa Binh", "Thon Dong Xuyen", FACTS.url, "Loa nha van hoa"), "a5"
    )
    for key in ("commune", "zone", "point"):
        assert marked.boxes[key][1] == plain.boxes[key][1], key  # same place on the page
        a, b = marked.image.crop(marked.boxes[key]), plain.image.crop(marked.boxes[key])
        assert ImageChops.difference(a, b).getbbox() is not None, key


def test_long_real_names_make_the_text_smaller_and_the_qr_stays_large():
    long_facts = posters.PosterFacts(
        "Ủy ban nhân dân xã Hòa Bình, huyện Kỳ Sơn",
        "Thôn Đông Xuyên Thượng",
        FACTS.url,
        "Loa truyền thanh cụm dân cư số bảy gần nhà văn hóa",
    )
    drawn = posters.draw(long_facts, "a5")
    width = drawn.image.size[0]
    qr_left, _, qr_right, _ = drawn.boxes["qr"]
    assert qr_right - qr_left >= posters.MIN_QR_SHARE * width
    assert decoded(drawn.image) == [FACTS.url]


def test_names_too_long_for_the_page_are_refused():
    long_facts = posters.PosterFacts("Xã " * 40, "Thôn " * 60, FACTS.url, "Loa " * 60)
    with pytest.raises(InvalidInputError, match="shorten"):
        posters.draw(long_facts, "a5")


def test_an_unknown_size_or_format_is_refused():
    with pytest.raises(InvalidInputError, match="a4 or a5"):
        posters.checked("a3", "pdf")
    with pytest.raises(InvalidInputError, match="png or pdf"):
        posters.checked("a4", "svg")


def test_loa_poster_writes_a_village_and_a_point_poster(commune: Commune, tmp_path):
    data = str(commune.config.data_dir)
    out = tmp_path / "thon-dong.png"
    done = loa("poster", "--data", data, "--zone", "thon-dong", "--size", "a5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    url = f"{commune.config.web_url}/listen/thon-dong"
    assert url in done.stdout
    assert decoded(Image.open(out)) == [url]

    node = commune.nodes_in("thon-tay")[0]
    pdf = tmp_path / "point.pdf"
    done = loa("poster", "--data", data, "--node", node, "--out", str(pdf))
    assert done.returncode == 0, done.stderr
    assert page_size_mm(pdf) == pytest.approx((210, 297), abs=0.5)
    assert decoded(rendered(pdf, tmp_path)) == [f"{commune.config.web_url}/listen/thon-tay"]


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--zone", "thon-khong-co", "--out", "x.png"], "no village"),
        (["--node", "khong-co", "--out", "x.pdf"], "no loudspeaker point"),
        (["--zone", "thon-dong", "--out", "x.svg"], ".pdf or .png"),
    ],
)
def test_loa_poster_refuses_what_it_cannot_draw_and_writes_nothing(
    commune: Commune, tmp_path, args, says
):
    out = tmp_path / "out"
    out.mkdir()
    args = [a if a not in ("x.png", "x.pdf", "x.svg") else str(out / a) for a in args]
    done = loa("poster", "--data", str(commune.config.data_dir), *args)
    assert done.returncode == 2
    assert says in done.stderr
    assert list(out.iterdir()) == []

"""The printed label: its QR code reads back as the point's page, and its Vietnamese text is
drawn (with real letters, not empty boxes), inside the label."""

from __future__ import annotations

import io

import numpy as np
import pytest
import zxingcpp
from PIL import Image, ImageChops, ImageDraw

from controller.nodes import label

FACTS = label.LabelFacts(
    point_name="Loa nhà văn hóa Thôn Đông Xuyên",
    zone_name="Thôn Đông Xuyên",
    node_id="loa-nha-van-hoa-thon-dong-xuyen-3f2a",
    url="https://loa.xa-hoa-binh.vn/nodes/loa-nha-van-hoa-thon-dong-xuyen-3f2a",
    fingerprint=" ".join(["9F86", "D081"] * 8),
    commune="Xã Hòa Bình",
)


def test_the_qr_code_reads_back_as_the_points_page():
    png = label.draw(FACTS).png()
    image = Image.open(io.BytesIO(png))
    assert image.info["dpi"] == pytest.approx((300, 300), abs=0.01)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [FACTS.url]


def test_every_line_is_drawn_inside_the_label_beside_the_qr_code():
    drawn = label.draw(FACTS)
    keys = ["commune", "name", "zone", "node_id", "scan", "fp_title", "fingerprint"]
    assert list(drawn.boxes) == keys
    for key, (left, top, right, bottom) in drawn.boxes.items():
        assert label.TEXT_LEFT <= left < right <= label.WIDTH - label.MARGIN // 2, key
        assert 0 < top < bottom <= label.HEIGHT, key
        darkest = np.asarray(drawn.image.crop((left, top, right, bottom))).min()
        assert darkest < 100, f"{key}: nothing dark where its text should be"
    tops = [drawn.boxes[k][1] for k in keys]
    assert tops == sorted(tops)  # no line drawn over another


def test_vietnamese_letters_are_drawn_as_themselves():
    """A font without them draws the same empty box for each: distinct letters must differ."""
    letters = ["ệ", "ộ", "ữ", "Đ", "ặ", "ỳ"]
    bitmaps = []
    for letter in letters:
        image = Image.new("L", (80, 80), 255)
        font = label.font(label.BOLD, 60)
        ImageDraw.Draw(image).text((5, 0), letter, font=font, fill=0)
        bitmaps.append(image)
    for i, a in enumerate(bitmaps):
        assert np.asarray(a).min() < 100, letters[i]
        for b in bitmaps[i + 1 :]:
            assert ImageChops.difference(a, b).getbbox() is not None


def test_a_long_name_is_made_smaller_and_one_too_long_is_refused():
    long_name = "Loa truyền thanh cụm dân cư số bảy Thôn Đông Xuyên gần nhà văn hóa"
    drawn = label.draw(label.LabelFacts(long_name, "Thôn Đông", "x-1", "https://a/nodes/x-1", None))
    right = drawn.boxes["name"][2]
    assert right <= label.WIDTH - label.MARGIN // 2
    with pytest.raises(label.LabelError, match="does not fit"):
        label.draw(label.LabelFacts("Loa " * 60, "Thôn", "x-1", "https://a/nodes/x-1", None))

"""The bulletin page says in plain words what the denoiser did: a broadcaster who recorded
beside a humming amplifier reads that the hum was filtered out; one who chose "Lọc ồn AI" on
the compose page reads that the AI denoiser ran (360 px, real browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.audio.test_neural import barking
from tests.controller.web.test_compose import upload_draft, wait_for_draft
from tests.support import SystemUnderTest, make_system
from tests.support.audio import bulletin, write_wav
from tests.support.web import add_accounts, fits_width


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """No points: only the compose page is read. The neural denoiser's speed limit is one any
    machine meets: the choice is tested here, the fallback in tests/audio/test_neural.py."""
    sut = make_system(tmp_path_factory.mktemp("web-denoise"), nodes=0, neural_max_rtf=1e6)
    add_accounts(sut)
    sut.cluster.start_all()
    yield sut
    sut.cluster.stop_all()


@pytest.fixture(scope="module")
def humming_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sr = 16000
    x = bulletin(6.0, sr)
    t = np.arange(x.shape[0]) / sr
    hum = sum(a * np.sin(2 * np.pi * k * 50.0 * t) for k, a in ((1, 1.0), (3, 0.6), (5, 0.4)))
    path = tmp_path_factory.mktemp("hum") / "ghi-am-u.wav"
    write_wav(str(path), (x + 0.02 * hum).astype(np.float32), sr)
    return path


def test_the_draft_says_the_hum_was_filtered(web_system, open_page, humming_wav) -> None:
    base = web_system.cluster.url
    page = open_page("phatthanh")
    upload_draft(page, base, humming_wav, "Thông báo họp thôn")
    words = page.locator(".report-words")
    expect(words).to_contain_text("Đã lọc tiếng ù điện (50 Hz).")
    assert fits_width(page)


@pytest.fixture(scope="module")
def barking_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sr = 16000
    path = tmp_path_factory.mktemp("bark") / "ghi-am-cho-sua.wav"
    write_wav(str(path), barking(bulletin(4.0, sr), sr), sr)
    return path


def test_the_ai_choice_reaches_the_draft(web_system, open_page, barking_wav) -> None:
    base = web_system.cluster.url
    page = open_page("phatthanh")
    page.goto(f"{base}/bulletins/new")
    choice = page.get_by_label("Cách lọc tiếng ồn")
    expect(choice).to_have_value("standard")  # the controller's setting is the default
    page.get_by_label("Nhập văn bản để máy đọc").check()
    expect(choice).to_be_hidden()  # speech made from text has no noise to remove
    page.get_by_label("Tiêu đề bản tin").fill("Thông báo lọc ồn AI")
    page.get_by_label("Chọn tệp ghi âm có sẵn").check()
    choice.select_option(label="Lọc ồn AI")
    page.get_by_label("Tệp âm thanh", exact=True).set_input_files(str(barking_wav))
    page.get_by_role("button", name="Xử lý âm thanh và xem trước").click()
    wait_for_draft(page)
    expect(page.locator(".report-words")).to_contain_text("Đã lọc ồn bằng AI (DeepFilterNet3).")
    assert fits_width(page)

"""The bulletin page says in plain words what the denoiser did: a broadcaster who recorded
beside a humming amplifier reads that the hum was filtered out (360 px, real browser)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from tests.controller.web.test_compose import upload_draft
from tests.support import SystemUnderTest, make_system
from tests.support.audio import bulletin, write_wav
from tests.support.web import add_accounts, fits_width


@pytest.fixture(scope="module")
def web_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SystemUnderTest]:
    """No points: only the compose page is read."""
    sut = make_system(tmp_path_factory.mktemp("web-denoise"), nodes=0)
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

"""The issue's acceptance test: Google unreachable → espeak-ng speaks and the bulletin airs
(real broker, controller and node processes)."""

from __future__ import annotations

from collections.abc import Callable

from controller.tts import TtsSettings, synthesize
from tests.support import SystemUnderTest, wait_for
from tests.support.audio import read_wav


def test_bulletin_airs_with_google_unreachable(
    system_factory: Callable[..., SystemUnderTest], settings: TtsSettings
) -> None:
    result = synthesize("UBND xã thông báo lịch tiêm phòng ngày 20/11.", settings=settings)
    assert result.engine == "espeak"
    assert "refused" in result.attempts[0].reason.lower()

    sut = system_factory(nodes=1)
    sut.cluster.start_all()
    resp = sut.post_bulletin(result.path, title="Lịch tiêm phòng", all="true")
    assert resp.status_code == 201, resp.text
    bulletin = resp.json()
    report = wait_for(
        lambda: (r := sut.report(bulletin["id"]))["summary"]["completed"] == 1 and r,
        timeout=60,
        what="the node to finish playing",
    )
    assert report["summary"]["played"] == 1
    played = sut.played_dir(sut.node_ids[0]) / f"{bulletin['id']}.wav"
    samples, _rate = read_wav(played)
    assert float((samples**2).mean() ** 0.5) > 0.01  # speech, not silence

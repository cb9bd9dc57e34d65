"""What the denoiser did to one recording, for the processing report (:mod:`audio.report`)."""

from __future__ import annotations

from dataclasses import dataclass

from audio.hum import Hum


@dataclass(frozen=True)
class DenoiseActions:
    """The denoiser's decisions on one recording."""

    suppressed: bool  # the spectral noise suppression ran (False: left, speech-like background)
    speech_like_background: bool
    hum: Hum | None  # mains hum or a machine's drone found and cancelled
    windy_s: float  # seconds of wind bursts turned down by 6 dB or more
    transients: int  # short loud sounds kept to their own frames
    babble: bool = False  # many voices behind the talker: suppressed gently, to keep the words

    def codes(self) -> list[str]:
        """Stable names of what was done, in the order the report lists them."""
        out = []
        if self.hum is not None and self.hum.machine:
            out.append(f"machine_{self.hum.f0_hz:.0f}hz")
        elif self.hum is not None:
            out.append(f"hum_{self.hum.mains_hz:.0f}hz")
        if self.windy_s > 0:
            out.append("wind")
        if self.suppressed:
            out.append("babble_gentle" if self.babble else "noise")
        if self.speech_like_background:
            out.append("left_speech_like")
        if self.transients:
            out.append("transients")
        return out

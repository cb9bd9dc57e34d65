"""The wider denoising corpus (bench/corpus_wide.py) is the same wherever it is generated, so
two runs of ``bench.denoise_quality`` compare code, not corpora."""

from __future__ import annotations

import numpy as np

from bench import corpus_wide
from bench.corpus import SR


def test_a_phone_coded_mixture_is_the_same_every_time_it_is_made() -> None:
    # sox dithers its AMR round trip; unseeded, each generation differed and the benchmark's
    # cells below the noisy input moved by one or two between runs of the same code
    x = (np.random.default_rng(0).standard_normal(3 * SR) * 0.1).astype(np.float32)
    first = corpus_wide._codec(x, "phone-amr")
    assert np.array_equal(first, corpus_wide._codec(x, "phone-amr"))
    assert np.abs(first - x).max() > 0.01  # it was coded, not passed through


def test_an_snr_written_as_an_integer_names_the_same_mixture() -> None:
    case = corpus_wide.Case("tune", 0, "white", 20, "phone-amr")
    assert corpus_wide._key(case) == corpus_wide._key(
        corpus_wide.Case("tune", 0, "white", 20.0, "phone-amr")
    )

"""A commune's data directory as `loa init` leaves it, with bulletins and their audio."""

from __future__ import annotations

import dataclasses

import pytest

from controller.nodes import bootstrap
from tests.controller.commune import Commune


@pytest.fixture
def data(commune: Commune) -> Commune:
    """The commune fixture's copy, its config file pointing at the copy itself."""
    config = commune.config
    # the template's speech cache, as a real directory keeps it: inside the data directory
    tts = dataclasses.replace(config.tts, cache_dir=config.data_dir / "tts-cache")
    commune.config = config.model_copy(update={"tts": tts})
    commune.config.save(bootstrap.config_path(config.data_dir))
    commune.bulletin()
    commune.bulletin(priority="priority")
    return commune

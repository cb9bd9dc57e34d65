"""The amplifier relay: gpiozero on mock pins and the recording fake pass one test class."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from node_agent.relay import (
    AmplifierRelay,
    GpioAmplifierRelay,
    RecordingRelay,
    RelayError,
    make_relay,
)

PIN = 17


@pytest.fixture
def mock_pins() -> Iterator[MockFactory]:
    factory = MockFactory()
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.close()
        Device.pin_factory = None


@pytest.fixture(params=["gpio", "recording"])
def relay(request: pytest.FixtureRequest, mock_pins: MockFactory) -> Iterator[AmplifierRelay]:
    made = GpioAmplifierRelay(PIN) if request.param == "gpio" else RecordingRelay()
    yield made
    made.close()


class TestAmplifierRelay:
    def test_starts_off(self, relay: AmplifierRelay) -> None:
        assert not relay.is_on

    def test_follows_on_and_off(self, relay: AmplifierRelay) -> None:
        relay.on()
        assert relay.is_on
        relay.on()
        assert relay.is_on
        relay.off()
        assert not relay.is_on

    def test_close_switches_off(self, relay: AmplifierRelay) -> None:
        relay.on()
        relay.close()
        assert not relay.is_on


@pytest.mark.parametrize(("active_high", "off_level"), [(True, False), (False, True)])
def test_gpio_pin_level_follows_the_relay(
    mock_pins: MockFactory, active_high: bool, off_level: bool
) -> None:
    relay = GpioAmplifierRelay(PIN, active_high=active_high)
    pin = mock_pins.pin(PIN)
    assert pin.state == off_level  # claimed in the off position: a reboot must not key the horns
    relay.on()
    assert pin.state == (not off_level)
    relay.off()
    assert pin.state == off_level
    relay.on()
    relay.close()
    assert pin.state == off_level


def test_gpio_bad_pin_raises_relay_error(mock_pins: MockFactory) -> None:
    with pytest.raises(RelayError, match="GPIO 999"):
        GpioAmplifierRelay(999)


def test_recording_relay_keeps_transitions_only() -> None:
    relay = RecordingRelay()
    relay.on()
    relay.on()
    relay.off()
    relay.off()
    relay.on()
    assert [state for _, state in relay.transitions] == [True, False, True]
    times = [t for t, _ in relay.transitions]
    assert times == sorted(times)


def test_make_relay(mock_pins: MockFactory) -> None:
    assert isinstance(make_relay("recording"), RecordingRelay)
    gpio = make_relay("gpio", pin=PIN, active_high=False)
    assert isinstance(gpio, GpioAmplifierRelay)
    gpio.close()
    with pytest.raises(ValueError, match="unknown amplifier relay"):
        make_relay("bluetooth")

"""The relay that powers a speaker point's amplifier, switched on only while something plays."""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol


class RelayError(RuntimeError):
    """The relay's GPIO could not be set up or switched; the reason is in the text."""


class AmplifierRelay(Protocol):
    def on(self) -> None: ...

    def off(self) -> None: ...

    @property
    def is_on(self) -> bool: ...

    def close(self) -> None:
        """Switch off and release the hardware."""


class GpioAmplifierRelay:
    """A relay on one GPIO pin, through gpiozero (so any of its pin factories, or its mocks).

    ``active_high=False`` is for the common relay boards that energise when the pin is low.
    The relay is driven off as soon as the pin is claimed: a reboot must not key the horns.
    """

    def __init__(self, pin: int, active_high: bool = True) -> None:
        try:
            # Imported here: gpiozero looks for GPIO hardware, which only a real node has.
            from gpiozero import GPIOZeroError, OutputDevice
        except ImportError as exc:
            raise RelayError(f"gpiozero is not installed: {exc}") from exc
        self._errors: tuple[type[BaseException], ...] = (GPIOZeroError, OSError)
        try:
            self._device: Any = OutputDevice(pin, active_high=active_high, initial_value=False)
        except self._errors as exc:
            raise RelayError(f"cannot drive amplifier relay on GPIO {pin}: {exc}") from exc
        self.pin = pin

    def on(self) -> None:
        self._switch(True)

    def off(self) -> None:
        self._switch(False)

    def _switch(self, state: bool) -> None:
        try:
            if state:
                self._device.on()
            else:
                self._device.off()
        except self._errors as exc:
            raise RelayError(f"cannot switch amplifier relay on GPIO {self.pin}: {exc}") from exc

    @property
    def is_on(self) -> bool:
        return not self._device.closed and bool(self._device.is_active)

    def close(self) -> None:
        if self._device.closed:
            return
        self.off()
        self._device.close()


class RecordingRelay:
    """A relay for machines without GPIO: keeps every change of state as ``(time.time(), on)``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on = False
        self.transitions: list[tuple[float, bool]] = []

    def on(self) -> None:
        self._switch(True)

    def off(self) -> None:
        self._switch(False)

    def _switch(self, state: bool) -> None:
        with self._lock:
            if state != self._on:
                self._on = state
                self.transitions.append((time.time(), state))

    @property
    def is_on(self) -> bool:
        return self._on

    def close(self) -> None:
        self.off()


def make_relay(kind: str, **options: Any) -> AmplifierRelay:
    """The relay a node's config names: ``"gpio"`` (with ``pin``, ``active_high``) or
    ``"recording"``."""
    if kind == "gpio":
        return GpioAmplifierRelay(**options)
    if kind == "recording":
        return RecordingRelay(**options)
    raise ValueError(f"unknown amplifier relay {kind!r}; expected 'gpio' or 'recording'")

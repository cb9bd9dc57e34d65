"""Errors raised by the audio package.

Every error is a ``ValueError`` so callers that only know "bad input" can catch one thing, and
each message says in plain English what is wrong with the recording. The controller turns these
into HTTP 4xx answers.
"""

from __future__ import annotations


class AudioError(ValueError):
    """The audio cannot be processed; the message says why."""


class UnsupportedFormatError(AudioError):
    """The file is not a recognised audio format, or has no audio stream."""


class CorruptAudioError(AudioError):
    """The file claims to be audio but nothing usable could be decoded from it."""


class EmptyAudioError(AudioError):
    """The audio holds nothing to broadcast: empty, too short, or silent."""


class TooLongAudioError(AudioError):
    """The audio is longer than the configured maximum, refused before allocating memory."""


class TooShortAudioError(EmptyAudioError):
    """The audio holds less sound than a broadcast needs (``PipelineConfig.min_speech_s``)."""

"""Release signatures: the node installs only what its controller signed, byte for byte."""

from __future__ import annotations

import pytest

from protocol.releases import ReleaseSignatureError, sign_release, verify_release
from protocol.signing import new_private_key, sign_command

SHA = "ab" * 32


def test_a_signed_release_verifies_with_the_controller_key():
    key = new_private_key()
    release = sign_release(key, "0.2.0", "loalang-0.2.0-py3-none-any.whl", SHA, 1234)
    verify_release(release, key.public_key())


@pytest.mark.parametrize(
    "change",
    [
        {"version": "0.2.1"},
        {"filename": "loalang-0.2.0-py3-none-any2.whl"},
        {"sha256": "cd" * 32},
        {"size": 1235},
        {"signature": "AAAA"},
        {"signature": "not base64!"},
    ],
)
def test_any_change_to_a_signed_release_is_refused(change):
    key = new_private_key()
    release = sign_release(key, "0.2.0", "loalang-0.2.0-py3-none-any.whl", SHA, 1234)
    with pytest.raises(ReleaseSignatureError, match="bad signature"):
        verify_release(release.model_copy(update=change), key.public_key())


def test_another_key_signature_is_refused():
    release = sign_release(new_private_key(), "0.2.0", "loalang-0.2.0-py3-none-any.whl", SHA, 9)
    with pytest.raises(ReleaseSignatureError):
        verify_release(release, new_private_key().public_key())


def test_a_command_signature_is_never_a_release_signature():
    """Domain separation: the bytes a command signs can never pass as a release manifest."""
    from protocol.messages import StopCommand

    key = new_private_key()
    release = sign_release(key, "0.2.0", "loalang-0.2.0-py3-none-any.whl", SHA, 9)
    _, envelope = sign_command(key, StopCommand(), ["loa-01"])
    with pytest.raises(ReleaseSignatureError):
        verify_release(release.model_copy(update={"signature": envelope.sig}), key.public_key())

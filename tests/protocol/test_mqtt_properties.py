"""A received PUBLISH's MQTT 5 properties: what the project sends is read, a block longer than
any of ours is skipped unread, so a hostile sender's properties cost nothing to parse."""

from __future__ import annotations

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties, VariableByteIntegers

from protocol import mqtt_client


def test_an_expiry_is_read_and_a_huge_block_is_skipped_with_its_length():
    sent = mqtt_client.expiring(60).pack()  # type: ignore[no-untyped-call]
    got, used = Properties(PacketTypes.PUBLISH).unpack(sent)  # type: ignore[no-untyped-call]
    assert (got.MessageExpiryInterval, used) == (60, len(sent))

    users = b"\x26\x00\x01k\x00\x01v" * 40_000  # 280 KB of user properties
    block = VariableByteIntegers.encode(len(users)) + users  # type: ignore[no-untyped-call]
    got, used = Properties(PacketTypes.PUBLISH).unpack(block + b"payload")  # type: ignore[no-untyped-call]
    assert used == len(block)  # the payload after it is found where it is
    assert not hasattr(got, "UserProperty")
    assert len(users) > mqtt_client.MAX_PUBLISH_PROPERTIES_BYTES


def test_other_packets_properties_are_read_whole():
    """The broker's own packets (its CONNACK's Receive Maximum) are not PUBLISHes."""
    props = Properties(PacketTypes.CONNACK)  # type: ignore[no-untyped-call]
    props.ReceiveMaximum = 100
    props.UserProperty = [("k", "v" * 100)]
    packed = props.pack()  # type: ignore[no-untyped-call]
    got, used = Properties(PacketTypes.CONNACK).unpack(packed)  # type: ignore[no-untyped-call]
    assert (got.ReceiveMaximum, used) == (100, len(packed))
    assert got.UserProperty == [("k", "v" * 100)]

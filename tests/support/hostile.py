"""Hypothesis strategies for what a stolen node (or anyone on the wire) can send: raw bytes,
arbitrary JSON, and valid messages with one field made hostile (huge or negative numbers,
far-away or naive times, long or odd unicode, another node's id, nesting).

``FUZZ`` is the suite's settings: a fixed number of examples drawn the same way on every run
(``derandomize``), no deadline (no timing in a unit test) and no example database, so CI sees
exactly what a developer saw. Each test module drives its handlers in-process: no broker per
example.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from protocol.limits import MAX_PACKET_BYTES

FUZZ = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    # The fixtures are a commune or a node built once per test; each example checks what it
    # changed against a snapshot taken just before it, so sharing them is the point.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

Json = Any  # what json.loads returns

EDGE_INTS = st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 2**64, 10**100]
)
EDGE_FLOATS = st.sampled_from([0.0, -0.0, -1.5, 1e308, -1e308, 5e-324, float("inf"), -1e-9])
EDGE_TIMES = st.sampled_from(
    [
        "9999-12-31T23:59:59-23:59",  # past the end of the calendar once made UTC
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+23:59",  # before its start once made UTC
        "0001-01-01T00:00:00Z",
        "2026-12-06T07:00:00",  # naive: the protocol wants a timezone
        "2126-12-06T07:00:00+07:00",  # a century ahead
        "1970-01-01T00:00:00Z",
        "not a time",
    ]
)
LONG_TEXT = st.sampled_from(["a" * 70_000, "ạ" * 30_000, "\u202e" * 1000, "\x00" * 100])
TEXT = st.text(max_size=40) | LONG_TEXT


def scalars(node_ids: list[str]) -> st.SearchStrategy[Json]:
    """Leaf values: the edges above, plain draws, and node ids (another's included)."""
    return st.one_of(
        st.none(),
        st.booleans(),
        EDGE_INTS,
        st.integers(),
        EDGE_FLOATS,
        st.floats(allow_nan=False),
        EDGE_TIMES,
        TEXT,
        st.sampled_from(node_ids),
    )


def json_values(node_ids: list[str]) -> st.SearchStrategy[Json]:
    """Any JSON, nested a few levels deep."""
    return st.recursive(
        scalars(node_ids),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
        max_leaves=12,
    )


def hostile_dicts(valid: dict[str, Json], node_ids: list[str]) -> st.SearchStrategy[Json]:
    """``valid`` with one or two fields replaced, removed or added, or another type altogether."""
    keys = sorted(valid)

    def mutate(changes: list[tuple[str, Json, bool]]) -> dict[str, Json]:
        out = dict(valid)
        for key, value, remove in changes:
            if remove:
                out.pop(key, None)
            else:
                out[key] = value
        return out

    change = st.tuples(
        st.sampled_from(keys) | TEXT, json_values(node_ids), st.booleans().map(lambda b: not b)
    )
    return st.lists(change, min_size=1, max_size=2).map(mutate)


def payloads(
    valid: Callable[[], dict[str, Json]] | st.SearchStrategy[dict[str, Json]],
    node_ids: list[str],
) -> st.SearchStrategy[bytes]:
    """Bytes on the wire for one channel: raw junk, any JSON, or a valid message made hostile."""
    base = valid if isinstance(valid, st.SearchStrategy) else st.builds(valid)
    mutated = base.flatmap(lambda v: hostile_dicts(v, node_ids))
    # valid messages with hostile values come first: they pass the parser and reach the code
    as_json = st.one_of(
        base, base, base, mutated, mutated, json_values(node_ids), st.recursive(st.none(), deep)
    ).map(_dumps)
    return st.one_of(
        st.binary(max_size=64),
        st.sampled_from(RAW_JSON_TRAPS),
        as_json,
        as_json,
        as_json,
        as_json,
    )


def deep(inner: st.SearchStrategy[Json]) -> st.SearchStrategy[Json]:
    return st.lists(inner, min_size=1, max_size=1)


def _dumps(value: Json) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# What json.dumps cannot make: invalid escapes, lone surrogates, numbers JSON does not allow,
# deep nesting, and a payload at the broker's packet limit.
RAW_JSON_TRAPS = [
    b'{"type": "state", "node_id": "\\ud800"}',
    b'{"type": "rejected", "reason": "\\udfff", "topic": "x"}',
    b'{"v": 1e999}',
    b'{"v": NaN}',
    b"[" * 5000 + b"]" * 5000,
    b'{"a":' * 2000 + b"1" + b"}" * 2000,
    b'"' + b"x" * (MAX_PACKET_BYTES - 2) + b'"',
    b"\xff\xfe\x00",
    b"",
    b"null",
]

"""Which role may do what: one table for the web pages and the HTTP API alike."""

from __future__ import annotations

PERMISSIONS: dict[str, frozenset[str]] = {
    "view": frozenset({"admin", "broadcaster", "approver"}),
    "compose": frozenset({"admin", "broadcaster"}),
    # sending a bulletin without anyone else's approval is what an approver does
    "review": frozenset({"admin", "approver"}),
    "programme.edit": frozenset({"admin", "approver"}),
    "nodes.control": frozenset({"admin", "broadcaster"}),
    "emergency": frozenset({"admin", "broadcaster", "approver"}),
    # speaking live to the points: no one reviews a live voice before it airs, so the same
    # people who may send an emergency (a lost child, water cut in an hour) may go live
    "live": frozenset({"admin", "broadcaster", "approver"}),
    # relaying a radio station on schedule (tiếp âm): an outside voice on every horn for a
    # window, with no one listening first, is a programme decision, made by the approvers
    "relay": frozenset({"admin", "approver"}),
    # printing the notice-board posters that send villagers to the public pages
    "posters": frozenset({"admin", "approver"}),
    "faults.resolve": frozenset({"admin"}),
    # the notice and alert templates everyone fills in
    "templates.edit": frozenset({"admin", "approver"}),
    "admin": frozenset({"admin"}),
}


def may(role: str, permission: str) -> bool:
    return role in PERMISSIONS[permission]

"""The arguments of `loa node provision` and `loa node enrol`, kept light to import: a Pi runs
`loa node ...` with the ``node`` extra only, so the work is imported when the command runs."""

from __future__ import annotations

import argparse
from pathlib import Path

PI_DATA_DIR = Path("/var/lib/loalang")  # where deploy/node/install.sh keeps the agent's data


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser], data: Path) -> None:
    from node_agent import enrol

    p = sub.add_parser(
        "provision",
        help="a point's bundle (config, credentials, CA, key, label.png) or an enrolment code",
        description="Give NODE_ID for an existing point (a replaced Pi: its old broker password "
        "stops working), or --name and --zone for a new one.",
    )
    p.add_argument("node_id", nargs="?", help="an existing point's id")
    p.add_argument("--data", type=Path, default=data)
    p.add_argument("--name", help="a new point's name")
    p.add_argument("--zone", help="a new point's zone code")
    p.add_argument("--lat", type=float)
    p.add_argument("--lon", type=float)
    p.add_argument("--accepts-tests", action="store_true", help="plays CAP Test/Exercise")
    p.add_argument("--out", type=Path, help="write the bundle into this directory")
    p.add_argument("--enrol", action="store_true", help="issue a one-time code (24 h) for the Pi")
    p.add_argument(
        "--label", type=Path, help="write the label here (alone: a reprint, nothing else changes)"
    )
    add_node_options(p)
    p.add_argument(
        "--node-data-dir", type=Path, default=PI_DATA_DIR, help="the agent's data on the Pi"
    )
    enrol.add_parser(sub)


def add_node_options(p: argparse.ArgumentParser) -> None:
    """How the point's Pi is set up, shared with `loa node add`."""
    p.add_argument("--broker-host", help="address the node uses to reach the broker")
    p.add_argument("--sink", choices=("sounddevice", "wav"), default="sounddevice")
    p.add_argument("--relay", choices=("gpio", "recording"), default="recording")
    p.add_argument("--relay-pin", type=int, default=17)


def run(args: argparse.Namespace) -> int:
    if args.node_cmd == "enrol":
        from node_agent import enrol

        return enrol.run(args)
    from controller.nodes import provision_cli

    return provision_cli.run(args)

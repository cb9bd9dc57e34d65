"""`loa node provision`: a point's bundle and label, or a one-time enrolment code for its Pi."""

from __future__ import annotations

import argparse
import getpass

from controller.nodes import bootstrap, bundle, enrolment, label, web_tls
from controller.nodes.provision import ProvisionError, create_node
from node_agent.config import RelayConfig, SinkConfig


def sink_and_relay(args: argparse.Namespace) -> tuple[SinkConfig, RelayConfig]:
    relay = (
        RelayConfig(kind="gpio", options={"pin": args.relay_pin})
        if args.relay == "gpio"
        else RelayConfig()
    )
    return SinkConfig(kind=args.sink), relay


def run(args: argparse.Namespace) -> int:
    if not (args.out or args.enrol or args.label):
        raise ProvisionError(
            "give --out DIR for the bundle, --enrol for a one-time code, or --label FILE"
        )
    new = args.name is not None or args.zone is not None
    if new == (args.node_id is not None):
        raise ProvisionError("give either NODE_ID (an existing point) or --name and --zone")
    if new and not (args.name and args.zone):
        raise ProvisionError("a new point needs both --name and --zone")
    config = bootstrap.load_config(args.data)
    if args.enrol and web_tls.served_fingerprint(config) is None:
        raise ProvisionError(
            "enrolment needs the web app on HTTPS: `loa init --https-host NAME` first"
        )
    if args.out:
        bundle.check_out(args.out)
    if new:  # a name too long for the label is refused before the point is made
        label.draw(label.LabelFacts(args.name, args.zone, "x" * 45, config.web_url, None, "x" * 30))
    sink, relay = sink_and_relay(args)
    options = bundle.BundleOptions(args.node_data_dir, sink, relay, args.broker_host)
    node_id = args.node_id or create_node(
        config,
        name=args.name,
        zone=args.zone,
        latitude=args.lat,
        longitude=args.lon,
        accepts_tests=args.accepts_tests,
    )
    if args.label:  # a label alone (a reprint) leaves the point's password as it is
        args.label.write_bytes(bundle.label_png(config, node_id))
        print(f"point {node_id}: label in {args.label}")
    if args.out:
        made = bundle.provision_to(config, node_id, args.out, options)
        print(f"point {node_id}: bundle in {args.out} (node.json, label.png, ...)")
        print(
            "broker reloaded: an earlier password of this point no longer works"
            if made.broker_reloaded
            else "broker not running here: it reads the new password when it starts"
        )
    if args.enrol:
        issued = enrolment.issue(config, node_id, options, issued_by=getpass.getuser())
        fingerprint = web_tls.served_fingerprint(config) or ""
        print(f"point {node_id}: one-time enrolment code {issued.code}")
        print(f"  valid until {issued.expires_at:%Y-%m-%d %H:%M} UTC, once; on the Pi:")
        print(
            f"  sudo loa node enrol {config.web_url} {issued.code} "
            f"--fingerprint {fingerprint} --owner loa"
        )
    return 0

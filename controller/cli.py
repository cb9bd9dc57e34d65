"""`loa`: one command for every role. Imports are lazy so a node needs only `loalang[node]`."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from controller.backup import cli as backup_cli
from controller.ops import alert_cli, live_cli, node_cli
from controller.public import poster_cli
from controller.releases import cli as release_cli

DEFAULT_DATA = Path("var")
DEFAULT_NODE_CONFIG = Path("/etc/loalang/node.json")  # where a bundle is installed on a Pi


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="loa", description="Loa Làng public-address radio")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    d = sub.add_parser("demo", help="broker + controller + simulated nodes")
    d.add_argument("--nodes", type=int, default=3)
    d.add_argument("--http-port", type=int, default=8080)
    d.add_argument("--mqtt-port", type=int, default=18830)
    d.add_argument("--mqtt-tls-port", type=int, default=18883, help="the nodes' TLS listener")
    d.add_argument("--data", type=Path, default=DEFAULT_DATA / "demo")

    c = sub.add_parser("controller", help="run the controller (HTTP API + delivery)")
    c.add_argument("--data", type=Path, default=DEFAULT_DATA)
    c.add_argument("--http-port", type=int)
    c.add_argument("--http-host")

    i = sub.add_parser("init", help="set up a controller data directory")
    i.add_argument("--data", type=Path, default=DEFAULT_DATA)
    i.add_argument("--commune", required=True, help="commune name")
    i.add_argument("--mqtt-host")
    i.add_argument("--mqtt-port", type=int)
    i.add_argument("--http-port", type=int)
    i.add_argument(
        "--tls-port", type=int, help="a TLS listener for the nodes (the plain one: 127.0.0.1)"
    )
    i.add_argument(
        "--tls-host",
        action="append",
        help="broker host name or IP the nodes use (repeat); the commune CA signs it",
    )
    i.add_argument(
        "--tls-files", nargs=3, type=Path, metavar=("CA", "CERT", "KEY"), help="use these instead"
    )
    i.add_argument(
        "--https-host",
        action="append",
        help="serve the web app over HTTPS with a certificate made for this name or IP (repeat)",
    )
    i.add_argument("--https-files", nargs=2, type=Path, metavar=("CERT", "KEY"))
    i.add_argument("--public-url", help="the web app's address on labels, e.g. https://loa.xa.vn")

    b = sub.add_parser("broker", help="run Mosquitto with the project's config")
    b.add_argument("--data", type=Path, default=DEFAULT_DATA)

    t = sub.add_parser("tls", help="the commune's TLS certificates")
    tsub = t.add_subparsers(dest="tls_cmd", required=True)
    ti = tsub.add_parser("init", help="commune CA, broker and web certificates; fingerprints")
    ti.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ti.add_argument("--host", action="append", required=True, help="name or IP (repeat)")
    ti.add_argument("--port", type=int, help="the broker's TLS port (default 8883)")
    ti.add_argument("--replace", action="store_true", help="a new CA for other host names")
    ti.add_argument(
        "--client-certs", action="store_true", help="nodes need a CA certificate too (kept key)"
    )

    cf = sub.add_parser("config", help="the controller's configuration")
    cfsub = cf.add_subparsers(dest="config_cmd", required=True)
    cc = cfsub.add_parser("check", help="print it, secrets masked; non-zero if invalid")
    cc.add_argument("--data", type=Path, default=DEFAULT_DATA)

    z = sub.add_parser("zone", help="manage zones (thôn/xóm)")
    zsub = z.add_subparsers(dest="zone_cmd", required=True)
    za = zsub.add_parser("add")
    za.add_argument("--data", type=Path, default=DEFAULT_DATA)
    za.add_argument("--code", required=True)
    za.add_argument("--name", required=True)
    za.add_argument("--lat", type=float, help="centre, for matching CAP alert areas")
    za.add_argument("--lon", type=float)
    za.add_argument("--geocode", action="append", default=[], help="NAME=VALUE, e.g. VN-ward=19804")

    u = sub.add_parser("user", help="manage accounts")
    usub = u.add_subparsers(dest="user_cmd", required=True)
    ua = usub.add_parser("add", help="create an account and print an API token")
    ua.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ua.add_argument("--username", required=True)
    ua.add_argument("--role", choices=("admin", "broadcaster", "approver"), required=True)
    pw = ua.add_mutually_exclusive_group(required=True)
    pw.add_argument("--password")
    pw.add_argument("--generate-password", action="store_true", help="make one and print it, once")

    n = sub.add_parser("node", help="run a node agent, provision one, or enrol this Pi")
    n.add_argument("--config", type=Path, help="node config file (runs the agent)")
    nsub = n.add_subparsers(dest="node_cmd")
    na = nsub.add_parser("add", help="provision a node: id, broker credentials, config file")
    na.add_argument("--data", type=Path, default=DEFAULT_DATA)
    na.add_argument("--name", required=True)
    na.add_argument("--zone", required=True, help="zone code")
    na.add_argument("--lat", type=float)
    na.add_argument("--lon", type=float)
    na.add_argument("--out", type=Path, help="where to write the node config file")
    node_cli.add_node_options(na)
    na.add_argument(
        "--accepts-tests", action="store_true", help="also play CAP Test/Exercise messages"
    )
    node_cli.add_parsers(nsub, DEFAULT_DATA)

    st = nsub.add_parser("selftest", help="check a point: tone, relay, clock, disk, broker, key")
    st.add_argument(
        "--config",
        dest="selftest_config",
        metavar="FILE",
        type=Path,
        help=f"default: {DEFAULT_NODE_CONFIG}",
    )

    sub.add_parser("process", help="clean and normalise a recording", add_help=False)
    sub.add_parser("say", help="text-to-speech into an audio file", add_help=False)
    alert_cli.add_parser(sub)
    live_cli.add_parser(sub)
    backup_cli.add_parsers(sub)
    release_cli.add_parser(sub, DEFAULT_DATA)
    poster_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["process"]:
        from audio.cli import main as process_main

        code: int = process_main(argv[1:])
        return code
    if argv[:1] == ["say"]:
        from controller.tts.cli import main as say_main

        said: int = say_main(argv[1:])
        return said
    args = _parser().parse_args(argv)
    # Every other command keeps secrets, a database, logs or audio: its files are its owner's.
    # (`loa process` and `loa say` above write a user's own files, with the user's umask.)
    from controller.private_files import restrict_process

    restrict_process()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # one line per migration is noise
    try:
        return _dispatch(args)
    except (ValueError, RuntimeError) as exc:
        print(f"loa: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd == "demo":
        from controller.ops import demo

        return demo.run(
            args.data,
            nodes=args.nodes,
            http_port=args.http_port,
            mqtt_port=args.mqtt_port,
            mqtt_tls_port=args.mqtt_tls_port,
        )
    if args.cmd == "controller":
        return _run_controller(args)
    if args.cmd == "init":
        from controller.nodes import bootstrap

        config = bootstrap.setup(
            args.data,
            commune_name=args.commune,
            mqtt_host=args.mqtt_host,
            mqtt_port=args.mqtt_port,
            http_port=args.http_port,
            mqtt_tls_port=args.tls_port,
            mqtt_tls_hosts=args.tls_host,
            mqtt_tls_files=args.tls_files,
            http_tls_files=args.https_files,
            public_url=args.public_url,
        )
        if args.https_host:
            from controller.nodes import web_tls

            config = web_tls.ensure_certificate(config, args.https_host)
            config.save(bootstrap.config_path(config.data_dir))
        print(f"controller data directory ready: {config.data_dir}")
        return 0
    if args.cmd == "broker":
        return _run_broker(args.data)
    if args.cmd == "tls":
        from controller.nodes import tls_init

        state = tls_init.init(
            args.data,
            args.host,
            port=args.port,
            replace=args.replace,
            client_certs=args.client_certs,
        )
        print(tls_init.report(state))
        return 0
    if args.cmd == "config":
        from controller import config_check

        return config_check.check(args.data)
    if args.cmd == "zone":
        from controller.db import Database
        from controller.nodes import bootstrap

        config = bootstrap.load_config(args.data)
        geocodes = dict(g.split("=", 1) for g in args.geocode if "=" in g)
        if len(geocodes) != len(args.geocode):
            raise ValueError("--geocode takes NAME=VALUE")
        zone = bootstrap.add_zone(
            Database(config.db_url),
            args.code,
            args.name,
            latitude=args.lat,
            longitude=args.lon,
            geocodes=geocodes or None,
        )
        print(f"zone {zone.code}: {zone.name}")
        return 0
    if args.cmd == "alert":
        return alert_cli.run(args)
    if args.cmd == "live":
        return live_cli.run(args)
    if args.cmd in ("backup", "restore"):
        return backup_cli.run(args)
    if args.cmd == "release":
        return release_cli.run(args)
    if args.cmd == "user":
        return _add_user(args)
    if args.cmd == "poster":
        return poster_cli.run(args)
    if args.cmd == "node":
        if args.node_cmd == "add":
            return _add_node(args)
        if args.node_cmd in ("provision", "enrol"):
            return node_cli.run(args)
        if args.node_cmd == "selftest":
            from node_agent.selftest import main as selftest_main

            return selftest_main(args.selftest_config or args.config or DEFAULT_NODE_CONFIG)
        if args.config is None:
            print(
                "loa node: give --config FILE to run the agent, or `loa node provision ...`",
                file=sys.stderr,
            )
            return 2
        from node_agent.agent import main as node_main

        return node_main(args.config)
    return 2


def _run_controller(args: argparse.Namespace) -> int:
    from controller import malloc_settings

    malloc_settings.apply()  # before uvicorn, paho and the dispatcher start their threads
    import uvicorn

    from controller import config_check
    from controller.api.app import create_app
    from controller.auth import TEST_COST_ENV, hashing_at_test_cost
    from controller.nodes import bootstrap

    config = bootstrap.load_config(args.data)
    config_check.require(config)
    if hashing_at_test_cost():
        logging.getLogger(__name__).warning(
            "%s=1: passwords are hashed at the test suite's cost; unset it outside the tests",
            TEST_COST_ENV,
        )
    if args.http_port:
        config = config.model_copy(update={"http_port": args.http_port})
    if args.http_host:
        config = config.model_copy(update={"http_host": args.http_host})
    cert, key = config.http_tls_files or (None, None)
    uvicorn.run(
        create_app(config),
        host=config.http_host,
        port=config.http_port,
        log_level="info",
        # the live page's microphone socket: one protocol, and no message past what it takes
        ws="wsproto",
        ws_max_size=65536,
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    return 0


def _run_broker(data: Path) -> int:
    from controller import config_check
    from controller.db import Database
    from controller.nodes import bootstrap, broker, broker_tls

    config = bootstrap.load_config(data)
    config_check.require(config)
    if bootstrap.lacks_broker_accounts(config):  # a data directory of an older release
        db = Database(config.db_url)
        try:
            bootstrap.broker_accounts(config, db)
        finally:
            db.engine.dispose()
    files = broker.BrokerFiles(config.broker_dir)
    broker.write_config(files, config.mqtt_port, "0.0.0.0", tls=broker_tls.listener(config))
    binary = broker.mosquitto_binary()
    # Become Mosquitto, so systemd's SIGHUP (reload accounts) and SIGTERM reach it directly.
    os.execv(binary, [binary, "-c", str(files.config_file)])


def _add_user(args: argparse.Namespace) -> int:
    from sqlalchemy import select

    from controller.auth import create_user, issue_token
    from controller.db import Database
    from controller.models import User
    from controller.nodes import bootstrap
    from controller.nodes.broker import new_password

    config = bootstrap.load_config(args.data)
    db = Database(config.db_url)
    try:
        with db.session() as s:
            if s.scalar(select(User).where(User.username == args.username)) is not None:
                raise ValueError(f"user {args.username!r} already exists")
            password = args.password or new_password()
            user = create_user(s, args.username, password, args.role)
            token = issue_token(s, user, "cli")
    except ValueError as exc:
        print(f"loa user add: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.username} ({args.role}) created; API token: {token}")
    if args.generate_password:
        print(f"password (shown once, keep it safe): {password}")
    return 0


def _add_node(args: argparse.Namespace) -> int:
    from controller.nodes import bootstrap
    from controller.nodes.provision import add_node
    from controller.nodes.provision_cli import sink_and_relay

    config = bootstrap.load_config(args.data)
    sink, relay = sink_and_relay(args)
    made = add_node(
        config,
        name=args.name,
        zone=args.zone,
        latitude=args.lat,
        longitude=args.lon,
        broker_host=args.broker_host,
        config_out=args.out,
        sink=sink,
        relay=relay,
        accepts_tests=args.accepts_tests,
    )
    print(f"node {made.node_id} provisioned; config file: {made.config_path}")
    print(
        "broker reloaded"
        if made.broker_reloaded
        else "broker not running here: it reads the new account when it starts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`loa alert send|confirm|cancel|show`: emergencies from a terminal, through the HTTP API."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from controller.ops.api_access import add_options, url_and_token


def add_parser(sub: Any) -> None:
    a = sub.add_parser("alert", help="send, confirm or cancel an emergency")
    add_options(a)
    asub = a.add_subparsers(dest="alert_cmd", required=True)
    s = asub.add_parser("send")
    s.add_argument("--text", default="")
    s.add_argument("--file", type=Path)
    s.add_argument("--voice", default="vi")
    s.add_argument("--all", action="store_true")
    s.add_argument("--zones", default="")
    s.add_argument("--nodes", default="")
    s.add_argument("--repeat", type=int, default=1)
    s.add_argument("--interval", type=int, default=300, help="seconds between airings")
    s.add_argument("--expires", type=int, help="minutes")
    for name in ("confirm", "show"):
        p = asub.add_parser(name)
        p.add_argument("alert_id")
    c = asub.add_parser("cancel")
    c.add_argument("alert_id")
    c.add_argument("--reason", default="")
    c.add_argument("--correction", default="", help="send this corrected text instead")


def run(args: argparse.Namespace) -> int:
    import httpx  # the controller extra's; a node's `loa` never gets here

    access = url_and_token(args, "alert")
    if access is None:
        return 2
    url, token = access
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        if args.alert_cmd == "send":
            data = {
                "text": args.text,
                "voice": args.voice,
                "all": str(args.all).lower(),
                "zones": args.zones,
                "nodes": args.nodes,
                "repeat": str(args.repeat),
                "interval_s": str(args.interval),
            }
            if args.expires:
                data["expires_minutes"] = str(args.expires)
            if args.file:
                with args.file.open("rb") as fh:
                    resp = c.post("/api/v1/alerts", data=data, files={"file": (args.file.name, fh)})
            else:
                resp = c.post("/api/v1/alerts", data=data)
        elif args.alert_cmd == "confirm":
            resp = c.post(f"/api/v1/alerts/{args.alert_id}/confirm")
        elif args.alert_cmd == "cancel":
            resp = c.post(
                f"/api/v1/alerts/{args.alert_id}/cancel",
                data={"reason": args.reason, "correction": args.correction},
            )
        else:
            resp = c.get(f"/api/v1/alerts/{args.alert_id}")
    if resp.is_error:
        detail = (
            resp.json().get("detail")
            if resp.headers.get("content-type", "").startswith("application/json")
            else resp.text
        )
        print(f"loa alert: {resp.status_code}: {detail}", file=sys.stderr)
        return 2
    body = resp.json()
    report = body.pop("report", None)
    print(json.dumps(body, ensure_ascii=False, indent=2))
    if report:
        print(report["summary"]["text"])
    return 0

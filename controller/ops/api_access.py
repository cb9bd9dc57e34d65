"""How the operator's commands (`loa alert`, `loa live`) reach the controller's HTTP API: its
URL and the operator's API token, from the options, the environment or the demo's credentials
file. The token names the account the audit log records."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any


def add_options(parser: Any) -> None:
    parser.add_argument("--url", default=os.environ.get("LOA_URL"), help="controller URL")
    parser.add_argument("--token", default=os.environ.get("LOA_TOKEN"), help="API token")
    parser.add_argument(
        "--credentials",
        type=Path,
        default=Path("var/demo/credentials.json"),
        help="read url and token from this file when not given",
    )


def url_and_token(args: argparse.Namespace, command: str) -> tuple[str, str] | None:
    """The controller's URL and the token; None (said on stderr) when either is missing."""
    url, token = args.url, args.token
    if (not url or not token) and args.credentials.exists():
        creds = json.loads(args.credentials.read_text())
        url, token = url or creds["url"], token or creds["api_token"]
    if not url or not token:
        print(f"loa {command}: give --url and --token (or LOA_URL / LOA_TOKEN)", file=sys.stderr)
        return None
    return url, token

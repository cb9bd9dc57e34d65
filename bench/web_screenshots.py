"""Screenshots of the web app's main pages on a 360 px phone, for the README.

Starts a small commune as the tests do (a real broker, controller and four simulated points),
sends one bulletin, keeps a spoken draft and sends another for approval (the approver's
notification), logs in as each role in Debian's Chromium and saves one screen per page under
docs/screenshots/, reduced to a small palette so the PNGs stay small.

    PYTHONPATH=. .venv/bin/python bench/web_screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from PIL import Image
from sqlalchemy import select

from controller.broadcast import approval, drafts
from controller.broadcast.approval import BroadcastRequest, When, Where
from controller.db import Database
from controller.models import User
from tests.support import SystemUnderTest, make_system, wait_for
from tests.support.web import CHROMIUM, CHROMIUM_ARGS, PHONE, add_accounts, log_in

SPEECH = "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng cho gia súc tháng này"
NOTICE = "Thông báo: chiều nay 15 giờ họp dân tại nhà văn hóa thôn Đông, mời mỗi hộ một người."
# (file name, account, address; {b} is the bulletin sent, {d} the draft)
SHOTS = (
    ("home", "phatthanh", "/"),
    ("home-approver", "pheduyet", "/"),
    ("notifications", "pheduyet", "/notifications"),
    ("draft", "phatthanh", "/bulletins/{d}"),
    ("calendar-week", "pheduyet", "/programme/calendar?view=week"),
    ("setup", "pheduyet", "/programme/setup"),
    ("templates", "pheduyet", "/templates"),
    ("compose", "phatthanh", "/bulletins/new"),
    ("bulletin", "phatthanh", "/bulletins/{b}"),
    ("report", "phatthanh", "/bulletins/{b}/report"),
    ("programme", "pheduyet", "/programme"),
    ("review", "pheduyet", "/review"),
    ("points", "phatthanh", "/nodes"),
    ("monthly", "pheduyet", "/reports"),
    ("emergency", "pheduyet", "/emergency"),
)
COLOURS = 48


def shrink(path: Path) -> None:
    """A palette PNG: screens are flat colours and text, so 48 colours read the same."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=COLOURS, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def drafts_of(sut: SystemUnderTest) -> str:
    """A spoken draft to edit (its id), and one sent for approval so the approver is told."""
    config = sut.cluster.config
    db = Database(config.db_url)
    with db.session() as s:
        author = s.scalars(select(User).where(User.username == "phatthanh")).one()
        kept = drafts.make_draft(
            s, config, author, recording=None, text=NOTICE, voice="vi", title=""
        )
        sent = drafts.make_draft(
            s, config, author, recording=None, text=NOTICE, voice="vi", title=""
        )
        everywhere = BroadcastRequest(where=Where(all=True), when=When(kind="now"))
        approval.submit(s, author, sent, everywhere)
        draft = kept.id
    db.engine.dispose()
    return draft


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import ViewportSize, sync_playwright

    phone = ViewportSize(width=PHONE["width"], height=PHONE["height"])

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        wav = root / "ban-tin.wav"
        subprocess.run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(wav), SPEECH], check=True)
        sut = make_system(root / "commune", nodes=4)
        add_accounts(sut)
        sut.cluster.start_all()
        try:
            sent = sut.post_bulletin(wav, zones="thon-dong")
            sent.raise_for_status()
            bulletin = sent.json()["id"]
            wait_for(lambda: sut.report(bulletin)["summary"]["completed"] == 2, 120, "the plays")
            draft = drafts_of(sut)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                for name, account, address in SHOTS:
                    context = browser.new_context(
                        viewport=phone, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
                    )
                    page = context.new_page()
                    log_in(page, sut.cluster.url, account)
                    page.goto(sut.cluster.url + address.format(b=bulletin, d=draft))
                    page.wait_for_load_state("load")  # live pages keep a stream open: never idle
                    path = args.out / f"{name}-360.png"
                    page.screenshot(path=str(path))
                    shrink(path)
                    print(f"{path}  {path.stat().st_size // 1024} KiB")
                    context.close()
                browser.close()
        finally:
            sut.cluster.stop_all()


if __name__ == "__main__":
    main()

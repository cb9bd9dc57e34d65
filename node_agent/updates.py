"""Signed releases on the node: fetched like audio, checked, installed beside the running
version, switched to, and confirmed or rolled back (see ``release_start`` for the wrapper).

The release's signature is checked when the command arrives, its sha256 when the wheel is in
(the cache checks every download, and again before use). Nothing is installed or switched while
anything is on air or an emergency waits to play: an update is deferred, never forced.
Installing runs in its own thread, so commands (an emergency) are handled meanwhile.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from node_agent.cache import AudioCache, CacheError
from node_agent.events import EventReporter
from node_agent.fetcher import Fetcher
from node_agent.release_install import InstallError, install, prune
from node_agent.release_start import (
    ROOT_ENV,
    WRAPPED_ENV,
    Marker,
    clear_marker,
    install_wrapper,
    locked,
    point_current,
    read_marker,
    write_marker,
)
from node_agent.version import installed_version
from protocol.messages import ReleaseRef, UpdateCommand
from protocol.releases import ReleaseSignatureError, verify_release

log = logging.getLogger(__name__)


def install_root(configured: Path | None, env: Mapping[str, str]) -> Path | None:
    """Where releases live: the start wrapper's ``--root`` when it started the agent (what
    really runs, so an installed point needs nothing in its config), else ``install_root``
    from the config. A config that names another root is wrong: said, and overruled."""
    wrapped = env.get(ROOT_ENV) if env.get(WRAPPED_ENV) else None
    if not wrapped:
        return configured
    root = Path(wrapped)
    if configured is not None and configured.resolve() != root.resolve():
        log.warning(
            "install_root %s in the config is not %s, where loa-node-start runs releases "
            "from: using %s",
            configured,
            root,
            root,
        )
    return root


@dataclass(frozen=True)
class UpdateSeams:
    """What the updater asks of the agent."""

    online: Callable[[], bool]
    busy: Callable[[], str]  # why now is no time to restart ("" when it is)
    restart: Callable[[], None]  # exit so the start wrapper runs ``current``


class Updater:
    def __init__(
        self,
        root: Path | None,
        data_dir: Path,
        *,
        confirm_within_s: float,
        public_key: Ed25519PublicKey,
        cache: AudioCache,
        fetcher: Fetcher,
        reporter: EventReporter,
        seams: UpdateSeams,
    ) -> None:
        """``root`` holds ``releases/`` and ``current``; None: not installed as releases."""
        self.root, self.confirm_within_s = root, confirm_within_s
        self._wanted_file = data_dir / "update-wanted.json"
        self._key, self._cache, self._fetcher = public_key, cache, fetcher
        self._reporter, self._seams = reporter, seams
        self.version = installed_version()  # the running virtualenv's loalang
        self.wanted: ReleaseRef | None = None
        self._fetched = False
        self._installing: threading.Thread | None = None
        self._install_result: str | None = None  # "" installed, else why not
        self._installed = False
        self.deferred = ""  # why the switch waits, for the log once

    # --- start-up and coming online -------------------------------------------------------
    def restore(self) -> None:
        """After a start: report a rollback, then resume a wanted release still to fetch."""
        if self.root is not None:
            self._report_rollback(self.root)
        try:
            self.wanted = ReleaseRef.model_validate_json(self._wanted_file.read_text())
        except FileNotFoundError:
            return
        except ValidationError:
            log.warning("dropping unreadable %s", self._wanted_file)
            self._forget()
            return
        if self.wanted.version == self.version:
            self._forget()
            return
        self._fetch(self.wanted)

    def on_online(self) -> None:
        """Connected and the state is out: a pending update to this version is confirmed."""
        root = self.root
        if root is None:
            return
        with locked(root):
            marker = read_marker(root)
            if marker is None or marker.status != "pending" or marker.to_version != self.version:
                return
            marker.status = "confirmed"
            write_marker(root, marker)
        self._reporter.update("updated", self.version, marker.from_version, "")
        clear_marker(root)
        install_wrapper(root)
        removed = prune(root, {marker.from_version})
        if removed:
            log.info("removed old releases %s", ", ".join(removed))

    def _report_rollback(self, root: Path) -> None:
        with locked(root):
            marker = read_marker(root)
            if marker is None or marker.status != "rolled_back":
                return
            self._reporter.update(
                "rolled_back", marker.to_version, marker.from_version, marker.reason
            )
            clear_marker(root)
        self._forget()  # not again by itself: the controller decides (its rollout says failed)

    # --- the command ----------------------------------------------------------------------
    def on_update(self, command: UpdateCommand) -> str:
        """Accept a release to run; returns why it is refused ("" when accepted)."""
        release = command.release
        if self.root is None:
            return (
                "updates are off: not started by loa-node-start and no install_root in the "
                "config (it was not installed as releases)"
            )
        if not os.environ.get(WRAPPED_ENV):
            return "not started by loa-node-start: nothing could roll a failed update back"
        try:
            verify_release(release, self._key)
        except ReleaseSignatureError as exc:
            return str(exc)
        if release.version == self.version:
            return ""
        if self.wanted == release:
            return ""  # a resend: already on its way
        if self._installing is not None:
            return f"busy installing {self.wanted.version if self.wanted else '?'}; send it again"
        if self.wanted is not None:
            self._fetcher.abandon(self.wanted.sha256)  # a newer release replaces it
        self.wanted, self._fetched, self._installed = release, False, False
        tmp = self._wanted_file.with_suffix(".tmp")
        tmp.write_text(release.model_dump_json())
        tmp.replace(self._wanted_file)
        self._fetch(release)
        return ""

    def _fetch(self, release: ReleaseRef) -> None:
        if self._cache.has(release.sha256):
            self._fetched = True
            return
        try:
            if self._fetcher.want(release.sha256, release.size, online=self._seams.online()):
                self._fetched = True  # its partial file was whole
        except CacheError as exc:
            self._fail(f"cannot fetch the wheel: {exc}")

    def fetched(self, sha256: str) -> None:
        if self.wanted is not None and sha256 == self.wanted.sha256:
            self._fetched = True

    def unfetchable(self, sha256: str, reason: str) -> None:
        if self.wanted is not None and sha256 == self.wanted.sha256:
            self._fail(f"cannot fetch the wheel: {reason}")

    # --- the worker's tick ------------------------------------------------------------------
    def tick(self) -> None:
        """Install once the wheel is in, switch once installed; both wait for a quiet moment."""
        if self.wanted is None or self.root is None:
            return
        if self._installing is not None:
            if self._installing.is_alive():
                return
            self._installing = None
            if self._install_result:
                self._fail(self._install_result)
                return
            self._installed = True
        if not self._fetched:
            return
        busy = self._seams.busy()
        if busy:
            if busy != self.deferred:
                log.info("update to %s deferred: %s", self.wanted.version, busy)
            self.deferred = busy
            return
        self.deferred = ""
        if not self._installed:
            self._start_install(self.root, self.wanted)
        else:
            self._switch(self.root, self.wanted)

    def _start_install(self, root: Path, release: ReleaseRef) -> None:
        # checked again here: the bytes installed are the bytes the signature covers
        if not self._cache.has(release.sha256):
            self._fetched = False
            self._fetch(release)
            return

        def run() -> None:
            try:
                install(root, release.version, self._cache.path(release.sha256), release.filename)
                self._install_result = ""
            except (InstallError, OSError) as exc:
                self._install_result = f"install failed: {exc}"

        self._install_result = None
        self._installing = threading.Thread(target=run, name="release-install", daemon=True)
        self._installing.start()

    def _switch(self, root: Path, release: ReleaseRef) -> None:
        with locked(root):
            write_marker(
                root,
                Marker("pending", self.version, release.version, self.confirm_within_s),
            )
            point_current(root, release.version)
        log.info("switched to %s; restarting", release.version)
        self.wanted = None
        self._seams.restart()

    def _fail(self, reason: str) -> None:
        version = self.wanted.version if self.wanted else "?"
        self._reporter.update("failed", version, self.version, reason)
        if self.wanted is not None:
            self._fetcher.abandon(self.wanted.sha256)
        self._forget()

    def _forget(self) -> None:
        self.wanted, self._fetched, self._installed = None, False, False
        self._wanted_file.unlink(missing_ok=True)

"""Shared fixtures: real Mosquitto, real controller and node processes, real audio."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.auth import TEST_COST_ENV
from controller.db import Database, migrate
from tests.support import SystemUnderTest, file_seconds, make_system

SESSION_UMASK = os.umask(0o022)
os.umask(SESSION_UMASK)
# Password hashes at a test cost, here and in every controller the suite starts (they inherit
# the environment): hundreds of hashes at 0.2 s of a core each. tests/controller/test_auth_cost.py
# checks the real cost without it.
os.environ[TEST_COST_ENV] = "1"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest files first (tests/support/file_seconds.py): `make test` hands whole files to its
    two workers in this order (``--no-loadscope-reorder``), so the run ends on short files
    instead of one worker finishing a four-minute file alone. The sort is stable: a file's
    tests keep their order and stay together."""
    seconds = file_seconds.load()
    items.sort(key=lambda item: -seconds.get(item.nodeid.split("::", 1)[0], 0.0))


@pytest.fixture(autouse=True)
def _session_umask() -> Iterator[None]:
    """Every test starts with the session's umask: a `loa` command run in-process sets 077 for
    the whole process (controller.private_files), and a later test's directories would then be
    unreachable by the other accounts it runs as, depending on which tests ran before."""
    os.umask(SESSION_UMASK)
    yield
    os.umask(SESSION_UMASK)


@pytest.fixture(scope="session")
def speech_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About two seconds of Vietnamese speech from espeak-ng (installed by `make test`)."""
    path = tmp_path_factory.mktemp("speech") / "ban-tin.wav"
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: `make test` installs it")
    subprocess.run(
        [
            "espeak-ng",
            "-v",
            "vi",
            "-s",
            "160",
            "-w",
            str(path),
            "Thông báo của Ủy ban nhân dân xã về lịch tiêm phòng",
        ],
        check=True,
    )
    return path


LONG_TEXT = (
    "Thông báo của ủy ban nhân dân xã về kế hoạch sản xuất vụ đông xuân năm nay. "
    "Đề nghị bà con nông dân chuẩn bị giống, phân bón và làm đất theo đúng lịch thời vụ. "
    "Các hợp tác xã tổ chức bơm nước đổ ải, nạo vét kênh mương nội đồng."
)


@pytest.fixture(scope="session")
def long_speech(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About twenty seconds of speech: long enough to be cut into while it plays."""
    path = tmp_path_factory.mktemp("long") / "vu-dong-xuan.wav"
    subprocess.run(["espeak-ng", "-v", "vi", "-s", "150", "-w", str(path), LONG_TEXT], check=True)
    return path


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An empty controller database: a real SQLite file, migrated to the newest schema."""
    database = Database(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    migrate(database.engine)
    yield database
    database.engine.dispose()


@pytest.fixture
def system_factory(tmp_path: Path) -> Iterator[Callable[..., SystemUnderTest]]:
    made: list[SystemUnderTest] = []

    def factory(nodes: int = 3, **tweaks: object) -> SystemUnderTest:
        sut = make_system(tmp_path / f"sys{len(made)}", nodes=nodes, **tweaks)
        made.append(sut)
        return sut

    yield factory
    for sut in made:
        sut.cluster.stop_all()
        for log in sut.cluster.logs_dir.glob("*.log"):
            if "Traceback" in log.read_text(errors="replace"):
                print(f"--- {log.name} ---\n{log.read_text(errors='replace')[-4000:]}")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    import tempfile

    from tests.support.postgres import postgres_server

    # Not under pytest's tmp dir: that is private to root, and PostgreSQL runs as `postgres`.
    root = Path(tempfile.mkdtemp(prefix="loa-pg-"))
    root.chmod(0o755)
    try:
        with postgres_server(root) as url:
            yield url
    finally:
        shutil.rmtree(root, ignore_errors=True)

"""Shared fixtures: project folders, a real S3 server on 127.0.0.1, golden files. Helpers are in
tests/support.py."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import REPO, SHOW_TOML, allow_anonymous_reads, make_cover, s3_client

# ---------------------------------------------------------------- media made by the tests


@pytest.fixture
def cover_bytes(tmp_path: Path) -> bytes:
    return make_cover(tmp_path / "cover-embedded.jpg", size=1400).read_bytes()


# ---------------------------------------------------------------- projects


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project with one serial show and no episodes yet; the working directory."""
    root = tmp_path / "project"
    (root / "feeds").mkdir(parents=True)
    (root / "feeds" / "grandir-en-hlm.toml").write_text(SHOW_TOML, encoding="utf-8")
    make_cover(root / "feeds" / "cover.jpg")
    monkeypatch.chdir(root)  # as a user works: messages name files relative to the project
    return root


@pytest.fixture
def demo_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repository's demo content (shows, episodes, media, templates, config); the
    working directory."""
    root = tmp_path / "demo"
    root.mkdir()
    for name in ("feeds", "episodes", "media", "templates"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "grandirenhlm.toml", root / "grandirenhlm.toml")
    monkeypatch.chdir(root)
    return root


# ---------------------------------------------------------------- S3: moto's server on 127.0.0.1


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    # werkzeug logs each request on whatever sys.stderr is when it first logs: inside CliRunner
    # that is the command's captured stderr, where a request line would fail a clean-error check.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Test credentials in the standard variables; no real AWS config is read."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing-secret-do-not-print")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
def private_bucket(moto_endpoint: str, aws_env: None) -> tuple[str, str]:
    """A fresh bucket on the moto server that only its owner can read: (endpoint URL, name)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client(moto_endpoint).create_bucket(Bucket=name)
    return moto_endpoint, name


@pytest.fixture
def s3_bucket(private_bucket: tuple[str, str]) -> tuple[str, str]:
    """A fresh podcast bucket on the moto server: anyone may read its objects."""
    allow_anonymous_reads(s3_client(private_bucket[0]), private_bucket[1], moto=True)
    return private_bucket


@pytest.fixture(scope="session")
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The user's cache folder (where `cachekey` keeps its key) for the tests: never the real one."""
    return tmp_path_factory.mktemp("user-cache")


@pytest.fixture(autouse=True)
def _no_color(monkeypatch: pytest.MonkeyPatch, _user_cache: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(_user_cache))
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)


# ---------------------------------------------------------------- golden files (tests/golden/)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="Rewrite the golden files in tests/golden/ from the current output (review the diff).",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """`golden(name, data)`: compare bytes with tests/golden/<name>, or rewrite it with --update-golden."""
    update = request.config.getoption("--update-golden")

    def compare(name: str, data: bytes) -> None:
        path = REPO / "tests" / "golden" / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            return
        assert path.is_file(), f"{path} missing: run pytest --update-golden and review the new file"
        expected = path.read_bytes()
        assert data.decode("utf-8") == expected.decode("utf-8"), f"{name} differs (pytest --update-golden)"

    return compare

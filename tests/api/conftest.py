import warnings
from typing import Any, Iterator

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")
# starlette 1.x prefers httpx2 for its test client; httpx works the same for these tests
warnings.filterwarnings("ignore", message=".*httpx2.*")

from starlette.testclient import TestClient  # noqa: E402

from idgate.api.app import create_app  # noqa: E402

from ._support import api_config, make_engine, set_token_env  # noqa: E402


@pytest.fixture
def engine(tmp_path: Any, monkeypatch: Any) -> Iterator[Any]:
    set_token_env(monkeypatch)
    eng = make_engine(str(tmp_path / "state"))
    yield eng
    eng.close()


@pytest.fixture
def client(engine: Any) -> Iterator[TestClient]:
    with TestClient(create_app(engine, api_config()), raise_server_exceptions=True) as c:
        yield c

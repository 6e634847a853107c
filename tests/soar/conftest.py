"""A real ``idgate`` HTTP server on loopback (uvicorn, random port, temp
state, samples/policy.yaml) for the SOAR end-to-end tests."""
import os
import socket
import sys
import threading
import time
import warnings
from typing import Any, Iterator

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOAR_SRC = os.path.join(ROOT, "connectors", "splunk_soar", "src")
sys.path.insert(0, SOAR_SRC)  # the SOAR app's HTTP client: plain requests, no SDK
warnings.filterwarnings("ignore", message=".*httpx2.*")


class Server:
    def __init__(self, url: str, engine: Any):
        self.url, self.engine = url, engine


@pytest.fixture
def idgate_server(tmp_path: Any, monkeypatch: Any) -> Iterator[Server]:
    uvicorn = pytest.importorskip("uvicorn")
    from idgate.api.app import create_app
    from tests.api._support import api_config, make_engine, set_token_env

    set_token_env(monkeypatch)
    engine = make_engine(str(tmp_path / "state"))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine, api_config(port)), log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the idgate test server did not start")
        time.sleep(0.02)
    yield Server("http://127.0.0.1:%d" % port, engine)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    engine.close()

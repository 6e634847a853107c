import pytest

from executor_fakes import free_port


class FakeTime:
    """A clock whose sleep advances it: retries and rate limits run instantly."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += max(0.0, seconds)


@pytest.fixture
def fake_time():
    return FakeTime()


@pytest.fixture(scope="session")
def moto_server():
    moto_server_module = pytest.importorskip("moto.server")
    port = free_port()
    server = moto_server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield "http://127.0.0.1:%d" % port
    finally:
        server.stop()

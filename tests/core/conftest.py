from typing import Any

import pytest

from ._helpers import CLI


@pytest.fixture
def cli(capsys: Any, monkeypatch: Any) -> CLI:
    return CLI(capsys, monkeypatch)

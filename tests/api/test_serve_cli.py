"""`idgate serve`: the OpenAPI file flag, config errors as one line, and the
core importing without the server extra."""
import json
import os
import subprocess
import sys
from typing import Any


from idgate.cli import main

from ._support import SAMPLES


def test_openapi_flag_writes_a_valid_document(tmp_path: Any, capsys: Any) -> None:
    out = tmp_path / "openapi.json"
    assert main(["serve", "--openapi", str(out)]) == 0
    doc = json.loads(out.read_text())
    from openapi_spec_validator import validate
    validate(doc)
    assert doc["openapi"].startswith("3.") and "/v1/evaluate" in doc["paths"]
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert main(["serve", "--openapi", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["paths"].keys() == doc["paths"].keys()


def test_serve_without_an_api_section_is_a_one_line_error(capsys: Any) -> None:
    assert main(["serve", "--config", os.path.join(SAMPLES, "run.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "api:" in err and "Traceback" not in err


def test_the_core_imports_without_the_server_extra() -> None:
    code = ("import sys; sys.modules['starlette'] = None; sys.modules['uvicorn'] = None\n"
            "import idgate.api.handlers, idgate.api.openapi, idgate.cli\n"
            "idgate.cli.build_parser()\n"
            "try:\n    import idgate.api.app\nexcept Exception as e:\n    print(type(e).__name__, e)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "IdgateError" in done.stdout and "idgate[server]" in done.stdout


def test_idgate_serve_runs_from_a_run_config(tmp_path: Any) -> None:
    import socket
    import time

    import requests
    (tmp_path / "run.yaml").write_text(
        "policy: %s\nstate: %s\napi:\n  tokens:\n    - {token: env:IDGATE_SERVE_TOKEN, caller: t, roles: [admin]}\n"
        % (os.path.join(SAMPLES, "policy.yaml"), tmp_path / "state"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = dict(os.environ, IDGATE_SERVE_TOKEN="serve-token-0123456789abcdef")
    proc = subprocess.Popen([sys.executable, "-c", "import sys; from idgate.cli import main; sys.exit(main())", "serve", "--config", str(tmp_path / "run.yaml"),
                             "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = requests.get("http://127.0.0.1:%d/v1/audit/verify" % port, timeout=2,
                                 headers={"Authorization": "Bearer serve-token-0123456789abcdef"})
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["ok"] is True
    finally:
        proc.terminate()
        proc.wait(10)

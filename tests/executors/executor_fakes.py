"""Stateful fakes of the providers' documented REST shapes, on `responses`."""
import json
import re
import socket

OKTA = "https://acme.okta.com"
GRAPH = "https://graph.microsoft.com/v1.0"
GITHUB = "https://api.github.com"
GCP = "https://iam.googleapis.com/v1"
VAULT = "https://vault.example:8200"


def _reply(status, body=None, headers=None):
    return (status, headers or {}, json.dumps(body) if body is not None else "")


class Fake:
    def __init__(self, rsps):
        self.rsps = rsps
        self.calls = []

    def route(self, method, pattern, handler):
        def callback(request):
            match = re.fullmatch(pattern, request.url.split("?")[0])
            self.calls.append((method, request.url))
            body = json.loads(request.body) if request.body else None
            return handler(request, body, *match.groups())
        self.rsps.add_callback(method, re.compile(pattern + r"(\?.*)?$"), callback=callback)


class OktaFake(Fake):
    def __init__(self, rsps):
        super().__init__(rsps)
        self.users = {"00u1abcdef": "ACTIVE"}
        self.apps = {"0oa1abcdef": "ACTIVE"}
        self.secrets = {("0oa1abcdef", "ocs1abcdef"): "ACTIVE"}
        self.sessions_cleared = []
        u, a = OKTA + r"/api/v1/users/([^/?]+)", OKTA + r"/api/v1/apps/([^/?]+)"
        self.route("GET", u, lambda r, b, uid: _reply(200, {"id": uid, "status": self.users[uid],
                                                             "profile": {"login": "a@x"}})
                   if uid in self.users else _reply(404, {"errorCode": "E0000007", "errorSummary": "Not found"}))
        self.route("POST", u + "/lifecycle/(suspend|unsuspend)", self._lifecycle)
        self.route("DELETE", u + "/sessions", lambda r, b, uid: (self.sessions_cleared.append(r.url), _reply(204))[1])
        self.route("GET", a, lambda r, b, aid: _reply(200, {"id": aid, "status": self.apps[aid], "label": "x"}))
        self.route("POST", a + "/lifecycle/(activate|deactivate)", self._app)
        self.route("GET", a + r"/credentials/secrets/([^/?]+)",
                   lambda r, b, aid, sid: _reply(200, {"id": sid, "status": self.secrets[(aid, sid)]}))
        self.route("POST", a + r"/credentials/secrets/([^/?]+)/lifecycle/(activate|deactivate)", self._secret)

    def _lifecycle(self, request, body, uid, op):
        if op == "suspend":
            if self.users[uid] != "ACTIVE":
                return _reply(400, {"errorSummary": "Cannot suspend a user that is not active"})
            self.users[uid] = "SUSPENDED"
        else:
            if self.users[uid] != "SUSPENDED":
                return _reply(400, {"errorSummary": "Cannot unsuspend a user that is not suspended"})
            self.users[uid] = "ACTIVE"
        return _reply(200, {})

    def _app(self, request, body, aid, op):
        self.apps[aid] = "ACTIVE" if op == "activate" else "INACTIVE"
        return _reply(200, {})

    def _secret(self, request, body, aid, sid, op):
        self.secrets[(aid, sid)] = "ACTIVE" if op == "activate" else "INACTIVE"
        return _reply(200, {"id": sid, "status": self.secrets[(aid, sid)]})


class EntraFake(Fake):
    USER = "11111111-2222-3333-4444-555555555555"
    SP = "aaaaaaaa-2222-3333-4444-555555555555"
    GRANT = "grantAAAABBBBCCCC"

    def __init__(self, rsps):
        super().__init__(rsps)
        self.users = {self.USER: True}
        self.sps = {self.SP: True}
        self.grants = {self.GRANT: {"id": self.GRANT, "clientId": "c1", "consentType": "Principal",
                                    "principalId": self.USER, "resourceId": "r1", "scope": "Mail.Read"}}
        self.passwords = {self.SP: [{"keyId": "99999999-2222-3333-4444-555555555555", "displayName": "ci"}]}
        self.risk = {self.USER: "atRisk"}
        self.revoked = []
        self.route("GET", GRAPH + r"/users/([^/?]+)",
                   lambda r, b, uid: _reply(200, {"id": uid, "accountEnabled": self.users[uid]}))
        self.route("PATCH", GRAPH + r"/users/([^/?]+)", self._patch_user)
        self.route("POST", GRAPH + r"/users/([^/?]+)/revokeSignInSessions",
                   lambda r, b, uid: (self.revoked.append(uid), _reply(200, {"value": True}))[1])
        self.route("GET", GRAPH + r"/servicePrincipals/([^/?]+)",
                   lambda r, b, sid: _reply(200, {"id": sid, "accountEnabled": self.sps[sid], "appId": "app"}))
        self.route("PATCH", GRAPH + r"/servicePrincipals/([^/?]+)", self._patch_sp)
        self.route("GET", GRAPH + r"/applications/([^/?]+)",
                   lambda r, b, oid: _reply(200, {"id": oid, "passwordCredentials": self.passwords.get(oid, [])}))
        self.route("POST", GRAPH + r"/applications/([^/?]+)/removePassword", self._remove_password)
        self.route("GET", GRAPH + r"/oauth2PermissionGrants/([^/?]+)",
                   lambda r, b, gid: _reply(200, self.grants[gid]) if gid in self.grants else
                   _reply(404, {"error": {"code": "Request_ResourceNotFound", "message": "gone"}}))
        self.route("DELETE", GRAPH + r"/oauth2PermissionGrants/([^/?]+)",
                   lambda r, b, gid: (self.grants.pop(gid, None), _reply(204))[1])
        self.route("GET", GRAPH + r"/oauth2PermissionGrants",
                   lambda r, b: _reply(200, {"value": list(self.grants.values())}))
        self.route("POST", GRAPH + r"/oauth2PermissionGrants", self._create_grant)
        self.route("GET", GRAPH + r"/identityProtection/riskyUsers/([^/?]+)",
                   lambda r, b, uid: _reply(200, {"id": uid, "riskState": self.risk[uid], "riskLevel": "medium"}))
        self.route("POST", GRAPH + r"/identityProtection/riskyUsers/(confirmCompromised|dismiss)", self._risk)

    def _patch_user(self, request, body, uid):
        self.users[uid] = body["accountEnabled"]
        return _reply(204)

    def _patch_sp(self, request, body, sid):
        self.sps[sid] = body["accountEnabled"]
        return _reply(204)

    def _remove_password(self, request, body, oid):
        self.passwords[oid] = [p for p in self.passwords.get(oid, []) if p["keyId"] != body["keyId"]]
        return _reply(204)

    def _create_grant(self, request, body):
        grant = dict(body, id="newgrant%d" % len(self.grants))
        self.grants[grant["id"]] = grant
        return _reply(201, grant)

    def _risk(self, request, body, op):
        for uid in body["userIds"]:
            self.risk[uid] = "confirmedCompromised" if op == "confirmCompromised" else "dismissed"
        return _reply(204)


class GitHubFake(Fake):
    def __init__(self, rsps):
        super().__init__(rsps)
        self.keys = {"42": {"id": 42, "key": "ssh-ed25519 AAAAC3Nza", "title": "deploy", "read_only": True}}
        self.revoked_credentials = []
        keys = GITHUB + r"/repos/acme/app/keys"
        self.route("GET", keys + r"/(\d+)", lambda r, b, kid: _reply(200, self.keys[kid]) if kid in self.keys
                   else _reply(404, {"message": "Not Found"}))
        self.route("DELETE", keys + r"/(\d+)", lambda r, b, kid: (self.keys.pop(kid, None), _reply(204))[1])
        self.route("GET", keys, lambda r, b: _reply(200, list(self.keys.values())))
        self.route("POST", keys, self._add)
        self.route("POST", GITHUB + r"/credentials/revoke", self._revoke)

    def _add(self, request, body):
        new_id = str(100 + len(self.keys))
        self.keys[new_id] = dict(body, id=int(new_id))
        return _reply(201, self.keys[new_id])

    def _revoke(self, request, body):
        assert "Authorization" not in request.headers     # unauthenticated endpoint
        self.revoked_credentials.extend(body["credentials"])
        return _reply(202, {})


class GcpFake(Fake):
    SA = "projects/p1/serviceAccounts/svc@p1.iam.gserviceaccount.com"
    KEY = SA + "/keys/abc123"

    def __init__(self, rsps):
        super().__init__(rsps)
        self.disabled = {self.SA: False, self.KEY: False}
        self.route("GET", GCP + r"/(projects/.+)", self._get)
        self.route("POST", GCP + r"/(projects/.+):(disable|enable)", self._set)

    def _get(self, request, body, name):
        if name not in self.disabled:
            return _reply(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})
        out = {"name": name}
        if self.disabled[name]:
            out["disabled"] = True      # the API omits false
        return _reply(200, out)

    def _set(self, request, body, name, op):
        self.disabled[name] = op == "disable"
        return _reply(200, {})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

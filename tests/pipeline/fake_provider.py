"""A stateful identity provider for tests: a SQLite file shared by every
process, so a test can count what really changed at the provider across
crashes and restarts. Like a real provider, it answers "already in that
state" instead of changing anything twice."""
import sqlite3
from typing import Any, Dict

from idgate.catalog import CATALOG
from idgate.executors.base import ExecutionRequest, ExecutionResult, Executor, ExecutorError

EFFECT = {  # action → (state key, value it sets)
    "disable_access_key": ("key", "inactive"), "enable_access_key": ("key", "active"),
    "disable_service_account": ("account", "disabled"), "enable_service_account": ("account", "enabled"),
    "suspend_user": ("user", "suspended"), "unsuspend_user": ("user", "active"),
    "disable_app": ("app", "disabled"), "enable_app": ("app", "enabled"),
    "revoke_oauth_grant": ("grant", "revoked"), "restore_oauth_grant": ("grant", "granted"),
}


class FakeProvider(Executor):
    provider = "fake"
    scopes = {name: ["fake.%s" % name] for name in CATALOG}

    def __init__(self, path: str, fail: str = ""):
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("CREATE TABLE IF NOT EXISTS calls (key TEXT, action TEXT, target TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS effects (action TEXT, target TEXT)")
        self.db.execute("CREATE TABLE IF NOT EXISTS state (target TEXT, aspect TEXT, value TEXT, "
                        "PRIMARY KEY (target, aspect))")
        self.fail = fail

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        target = request.target["id"]
        self.db.execute("INSERT INTO calls VALUES (?,?,?)", (request.idempotency_key, request.action, target))
        if self.fail and self.fail == request.action:
            raise ExecutorError("fake: %s refused (403: missing scope fake.%s)" % (request.action, request.action),
                                retryable=False, status=403)
        aspect, value = EFFECT.get(request.action, ("sessions", "revoked-%s" % request.idempotency_key))
        row = self.db.execute("SELECT value FROM state WHERE target=? AND aspect=?", (target, aspect)).fetchone()
        before = row[0] if row else None
        if before == value:
            return ExecutionResult(status="noop", pre_state={"before": before}, detail="already %s" % value)
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT OR REPLACE INTO state VALUES (?,?,?)", (target, aspect, value))
        self.db.execute("INSERT INTO effects VALUES (?,?)", (request.action, target))
        self.db.execute("COMMIT")
        return ExecutionResult(status="done", calls=[{"fake": request.action, "target": target}],
                               pre_state={"before": before})


def executor(config: Dict[str, Any], secrets: Any = None) -> Executor:
    return FakeProvider(config["db"], config.get("fail", ""))


def effects(path: str) -> Dict[Any, int]:
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT action, target, COUNT(*) FROM effects GROUP BY action, target").fetchall()
    except sqlite3.OperationalError:
        return {}
    return {(a, t): n for a, t, n in rows}


def calls(path: str) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


class ScopedFake(Executor):
    """For `idgate doctor`: declares scopes, reports what it was granted."""

    provider = "scoped"
    scopes = {"disable_app": ["apps.manage"], "enable_app": ["apps.manage"], "revoke_sessions": ["sessions.revoke"]}

    def __init__(self, granted: Any):
        self.granted = granted

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        return ExecutionResult(status="done")

    def granted_scopes(self) -> Any:
        return self.granted


def broad_credentials(config: Dict[str, Any], secrets: Any = None) -> Executor:
    return ScopedFake(["apps.manage", "sessions.revoke", "users.admin"])


def narrow_credentials(config: Dict[str, Any], secrets: Any = None) -> Executor:
    return ScopedFake(["apps.manage"])

"""Records exactly what would be called and touches nothing."""
from typing import Any, Dict

from ..catalog import CATALOG
from .base import ExecutionRequest, ExecutionResult, Executor, ExecutorError


class DryRunExecutor(Executor):
    provider = "dry_run"
    scopes = {name: [] for name in CATALOG}

    def __init__(self) -> None:
        self.calls = 0

    def execute(self, request: ExecutionRequest) -> ExecutionResult:
        if not self.supports(request.action):
            raise ExecutorError("dry_run: %r is not an action of the catalog" % request.action)
        self.calls += 1
        call = {"would_call": request.action, "target": request.target, "params": request.params,
                "idempotency_key": request.idempotency_key}
        return ExecutionResult(status="done", calls=[call],
                               pre_state={"dry_run": True, "target": request.target},
                               detail="dry run: nothing was changed")


def executor(config: Dict[str, Any], secrets: Any = None) -> Executor:
    return DryRunExecutor()

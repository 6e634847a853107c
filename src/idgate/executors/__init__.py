"""Executors: the scoped, idempotent hands of idgate, one module per provider.

A provider module ``idgate.executors.<provider>`` exposes
``executor(config, secrets) -> Executor``. ``dry_run`` records what would be
called and touches nothing.
"""
import importlib
import pkgutil
from typing import Any, Dict, List

from ..errors import IdgateError
from .base import ExecutionRequest, ExecutionResult, Executor, ExecutorError

__all__ = ["ExecutionRequest", "ExecutionResult", "Executor", "ExecutorError", "build_executor", "get_executor",
           "providers"]


def providers() -> List[str]:
    return sorted(i.name for i in pkgutil.iter_modules(__path__)  # type: ignore[name-defined]
                  if not i.name.startswith("_") and i.name != "base")


def get_executor(provider: str, config: Dict[str, Any], secrets: Any = None) -> Executor:
    if provider not in providers():
        raise IdgateError("unknown executor %r (known: %s)" % (provider, ", ".join(providers())))
    return importlib.import_module("%s.%s" % (__name__, provider)).executor(config, secrets)


def build_executor(name: str, section: Dict[str, Any], secrets: Any = None) -> Executor:
    """The executor a run-config section describes: a provider module of
    this package, or ``plugin: package.module:factory`` for one of your own."""
    plugin = section.get("plugin")
    if not plugin:
        return get_executor(name, section, secrets)
    module_name, _, attr = str(plugin).partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr or "executor")
    except (ImportError, AttributeError) as exc:
        raise IdgateError("executor plugin %s cannot be loaded: %s" % (plugin, exc)) from None
    return factory(section, secrets)

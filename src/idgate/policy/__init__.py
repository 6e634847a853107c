"""The mapping config: load, validate, compile, lint."""
from .compiled import CompiledRule, Policy, load_policy, policy_from_text, policy_version
from .schema import PolicyConfig

__all__ = ["CompiledRule", "Policy", "PolicyConfig", "load_policy", "policy_from_text", "policy_version"]

"""The action catalog: the one place that says what each action does.

Everything that needs to know whether an action contains, restores, can be
undone or by what inverse reads it from here (gate invariants, executors,
rollback, lint).
"""
from dataclasses import dataclass
from typing import Dict, Optional

CONTAIN = "contain"
ROTATE = "rotate"
NOTIFY = "notify"
RESTORE = "restore"  # raises access


@dataclass(frozen=True)
class ActionSpec:
    name: str
    effect: str
    # True: an inverse undoes it; False: cannot be undone; None: nothing to undo
    reversible: Optional[bool]
    inverse: Optional[str] = None
    # revoke_sessions heals itself (the identity signs in again), so it is
    # not treated as irreversible even though it has no inverse.
    self_healing: bool = False

    @property
    def raises_access(self) -> bool:
        return self.effect == RESTORE

    @property
    def irreversible(self) -> bool:
        return self.reversible is False and not self.self_healing


_SPECS = [
    ActionSpec("revoke_sessions", CONTAIN, None, self_healing=True),
    ActionSpec("revoke_oauth_grant", CONTAIN, True, "restore_oauth_grant"),
    ActionSpec("revoke_token", CONTAIN, False),
    ActionSpec("disable_access_key", CONTAIN, True, "enable_access_key"),
    ActionSpec("disable_service_account", CONTAIN, True, "enable_service_account"),
    ActionSpec("suspend_user", CONTAIN, True, "unsuspend_user"),
    ActionSpec("disable_app", CONTAIN, True, "enable_app"),
    ActionSpec("remove_credential", CONTAIN, False),
    ActionSpec("rotate_secret", ROTATE, False),
    ActionSpec("notify_owner", NOTIFY, None),
    # beyond SPEC's table: Entra ID Protection marks a user compromised, which
    # lets conditional access block it; dismissing the risk undoes that
    ActionSpec("confirm_compromised", CONTAIN, True, "dismiss_user_risk"),
    # restore actions raise access: never above review (invariant 5)
    ActionSpec("restore_oauth_grant", RESTORE, None),
    ActionSpec("enable_access_key", RESTORE, None),
    ActionSpec("enable_service_account", RESTORE, None),
    ActionSpec("unsuspend_user", RESTORE, None),
    ActionSpec("enable_app", RESTORE, None),
    ActionSpec("grant_role", RESTORE, None),
    ActionSpec("dismiss_user_risk", RESTORE, None),
    # removes the deny-before-time policy AWS session revocation leaves behind
    ActionSpec("undo_revoke_sessions", RESTORE, None),
]

CATALOG: Dict[str, ActionSpec] = {s.name: s for s in _SPECS}


def action_spec(name: str) -> Optional[ActionSpec]:
    return CATALOG.get(name)


def inverse_of(name: str) -> Optional[str]:
    spec = CATALOG.get(name)
    return spec.inverse if spec else None

"""Every provider has a playbook that loads, agrees with the action catalog,
and names only handlers its module has."""
import pytest

from idgate.catalog import CATALOG, inverse_of
from idgate.errors import ConfigError
from idgate.executors import providers
from idgate.executors._playbook import load_playbook

PROVIDERS = [p for p in providers() if p != "dry_run"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_playbook_loads_and_agrees_with_the_catalog(provider):
    import importlib
    module = importlib.import_module("idgate.executors." + provider)
    book = load_playbook(provider)
    assert book.actions
    for name, action in book.actions.items():
        if name in CATALOG and inverse_of(name) and action.inverse:
            assert action.inverse == inverse_of(name)
        if action.inverse:
            assert action.inverse in book.actions
        if action.handler:
            assert any(hasattr(cls, action.handler) for cls in vars(module).values() if isinstance(cls, type))
        if name in CATALOG and CATALOG[name].raises_access:
            assert not action.irreversible
        if name in CATALOG and CATALOG[name].irreversible:
            assert action.inverse is None


def test_a_broken_playbook_is_a_clear_config_error(tmp_path):
    bad = tmp_path / "okta.yaml"
    bad.write_text("provider: okta\nactions:\n  suspend_user: {scopes: [x], inverse: nope, steps: []}\n")
    with pytest.raises(ConfigError) as err:
        load_playbook("okta", str(bad))
    assert str(bad) in str(err.value)
    bad.write_text("provider: okta\nactions:\n  suspend_user: {scopes: [x], bogus: 1}\n")
    with pytest.raises(ConfigError, match="bogus"):
        load_playbook("okta", str(bad))


def test_allow_list_outside_the_playbook_is_a_config_error():
    from idgate.executors import get_executor
    with pytest.raises(ConfigError, match="grant_role"):
        get_executor("okta", {"org_url": "https://x.okta.com", "token_provider": lambda: "t",
                              "allow": ["suspend_user", "grant_role"]})

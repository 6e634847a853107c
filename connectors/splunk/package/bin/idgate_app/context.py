"""One Splunk context: a splunkd URI and a session key (what every Splunk
entry point is handed), turned into the KV store state, the saved policy,
the run config built from the app's configuration pages, and an Engine."""
import json
import logging
from typing import Any, Dict, List, Optional

from idgate import secrets
from idgate.engine import Engine
from idgate.errors import ConfigError, IdgateError
from idgate.policy import Policy
from idgate.runconfig import RunConfig
from idgate.state.kvstore import KVStoreState, connect

from . import APP
from .policies import PolicyStore

log = logging.getLogger("idgate.splunk")

# where UCC keeps the encrypted fields of an account
ACCOUNT_REALM = "__REST_CREDENTIAL__#%s#configs/conf-idgate_account" % APP
UCC_SEPARATOR = "``splunk_cred_sep``"
SECRET_FIELDS = ("token", "client_secret", "private_key", "api_key", "password")


class SplunkContext:
    def __init__(self, splunkd_uri: str, session_key: str, user: Optional[str] = None,
                 service: Any = None, index: Optional[str] = "idgate"):
        if not session_key:
            raise IdgateError("no session key: this entry point must be run by Splunk")
        self.splunkd_uri, self.session_key, self.user = splunkd_uri, session_key, user
        self.service = service or connect(splunkd_uri, session_key, APP)
        self._state: Optional[KVStoreState] = None
        self.index = index
        self._passwords: Optional[List[Dict[str, Any]]] = None
        secrets.register(session_key)
        secrets.add_resolver("splunk", self.resolve_secret)

    @property
    def state(self) -> KVStoreState:
        if self._state is None:
            self._state = KVStoreState(self.service, app=APP, index=self.index)
        return self._state

    @property
    def policies(self) -> PolicyStore:
        return PolicyStore(self.state)

    # -- configuration pages ----------------------------------------------------
    def conf(self, name: str) -> Dict[str, Dict[str, Any]]:
        """Stanzas of one of the app's conf files, through splunkd (so the
        values are what the UCC pages saved, layered as Splunk layers them)."""
        response = self.service.get("configs/conf-%s" % name, owner="nobody", app=APP, output_mode="json",
                                    count=0)
        data = json.loads(response.body.read().decode("utf-8") or "{}")
        return {e["name"]: e.get("content") or {} for e in data.get("entry") or []}

    def resolve_secret(self, reference: str) -> str:
        """``splunk:account:NAME:FIELD`` (an encrypted field of a
        configuration-page account) or ``splunk:REALM:NAME`` (any entry of
        storage/passwords in this app)."""
        if self._passwords is None:
            response = self.service.get("storage/passwords", owner="nobody", app=APP, output_mode="json",
                                        count=0)
            data = json.loads(response.body.read().decode("utf-8") or "{}")
            self._passwords = [e.get("content") or {} for e in data.get("entry") or []]
        if reference.startswith("account:"):
            _, name, field = (reference.split(":", 2) + [""])[:3]
            for entry in self._passwords:
                if entry.get("realm") == ACCOUNT_REALM and entry.get("username") == name + UCC_SEPARATOR + "1":
                    try:
                        value = json.loads(entry.get("clear_password") or "{}").get(field)
                    except ValueError:
                        value = None
                    if value:
                        return str(value)
            raise ConfigError("account %s has no %s stored in Splunk's password storage" % (name, field))
        realm, _, name = reference.rpartition(":")
        for entry in self._passwords:
            if entry.get("realm") == realm and entry.get("username") == name:
                return str(entry.get("clear_password") or "")
        raise ConfigError("no secret %s in realm %s of Splunk's password storage" % (name, realm or "(none)"))

    def run_config(self) -> RunConfig:
        """The run config from the configuration pages: each account is an
        executor or a ticket system; secrets stay references."""
        executors: Dict[str, Any] = {"default": "dry_run"}
        tickets: Dict[str, Any] = {"default": "local"}
        settings = self.conf("idgate_settings")
        for name, account in sorted(self.conf("idgate_account").items()):
            if str(account.get("disabled", "0")).lower() in ("1", "true"):
                continue
            section: Dict[str, Any] = {}
            options = (account.get("options") or "").strip()
            if options:
                try:
                    section.update(json.loads(options))
                except ValueError:
                    raise ConfigError("account %s: options must be a JSON object" % name) from None
            url = account.get("url")
            if url:
                section.setdefault("url", url)
                section.setdefault("org_url", url)
            if account.get("client_id"):
                section.setdefault("client_id", account["client_id"])
            field = account.get("secret_kind") or "token"
            if field not in SECRET_FIELDS:
                raise ConfigError("account %s: secret kind must be one of %s" % (name, ", ".join(SECRET_FIELDS)))
            section[field] = "splunk:account:%s:secret" % name
            provider = account.get("provider") or name
            (tickets if account.get("kind") == "ticket" else executors)[provider] = section
        general = settings.get("general") or {}
        if general.get("default_executor"):
            executors["default"] = general["default_executor"]
        if general.get("default_ticket"):
            tickets["default"] = general["default_ticket"]
        proxy = settings.get("proxy") or {}
        if str(proxy.get("proxy_enabled", "0")) in ("1", "true") and proxy.get("proxy_url"):
            url = "%s://%s:%s" % (proxy.get("proxy_type") or "http", proxy["proxy_url"], proxy.get("proxy_port") or 8080)
            for section in list(executors.values()) + list(tickets.values()):
                if isinstance(section, dict):
                    section.setdefault("proxies", {"http": url, "https": url})
        return RunConfig(policy="kvstore:current", executors=executors, tickets=tickets,
                         default_expiry=general.get("default_expiry") or "24h")

    def engine(self, policy: Optional[Policy] = None) -> Engine:
        return Engine(self.run_config(), state=self.state, policy=policy or self.policies.load("current"))

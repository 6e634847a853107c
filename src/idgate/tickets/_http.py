"""Shared HTTP setup of the ticket adapters: one HttpClient with the shared
retry policy, a shared per-system rate limiter, secrets from references."""
import base64
from typing import Any, Dict, Optional

from .. import ratelimit
from .. import secrets as default_secrets
from ..errors import ConfigError
from ..http import HttpClient, RetryPolicy


def secret(config: Dict[str, Any], key: str, secrets: Any, system: str, required: bool = False) -> Optional[str]:
    ref = config.get(key)
    if ref is None:
        if required:
            raise ConfigError("tickets.%s.%s is required" % (system, key))
        return None
    return (secrets or default_secrets).resolve(ref, "tickets.%s.%s" % (system, key))


def authorization(config: Dict[str, Any], secrets: Any, system: str, user_key: str, secret_key: str) -> str:
    """The Authorization header: Basic from ``user_key`` + ``secret_key``, or
    Bearer from ``token``. The encoded Basic pair is registered as a secret too."""
    if config.get(user_key) and config.get(secret_key):
        password = secret(config, secret_key, secrets, system, required=True) or ""
        basic = base64.b64encode(("%s:%s" % (config[user_key], password)).encode()).decode()
        (secrets or default_secrets).register(basic)
        return "Basic " + basic
    if config.get("token"):
        return "Bearer " + (secret(config, "token", secrets, system, required=True) or "")
    raise ConfigError("tickets.%s needs %s + %s, or token" % (system, user_key, secret_key))


def client(system: str, base_url: str, config: Dict[str, Any], headers: Dict[str, str],
           auth: Any = None, rate: float = 5.0) -> HttpClient:
    if not str(base_url).startswith(("https://", "http://")):
        raise ConfigError("tickets.%s.url must be an https URL" % system)
    options: Dict[str, Any] = {"verify": config.get("verify", True), "proxies": config.get("proxies")}
    if config.get("retry"):
        options["retry"] = RetryPolicy(**config["retry"])
    if config.get("sleep"):
        options["sleep"] = config["sleep"]
        limiter = ratelimit.RateLimiter(config.get("rate", rate), sleep=config["sleep"],
                                        **({"clock": config["clock"]} if config.get("clock") else {}))
    else:
        limiter = ratelimit.shared("ticket:%s:%s" % (system, base_url), config.get("rate", rate))
    return HttpClient(system, base_url, headers=headers, auth=auth, rate_limiter=limiter, **options)

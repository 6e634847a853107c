"""idgate's own credentials for the providers: short-lived tokens where the
provider allows it (OAuth client credentials, private_key_jwt, GitHub App
installation tokens), a static token otherwise.

Every token fetched at run time is registered with ``idgate.secrets`` so it
is scrubbed from logs, errors and records.
"""
import base64
import json
import threading
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

from .. import secrets as default_secrets
from ..errors import ConfigError
from ..http import HttpClient, HttpError

# refresh a little before the provider's expiry
EXPIRY_MARGIN = 60.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def sign_jwt_rs256(claims: Dict[str, Any], private_key_pem: str, key_id: Optional[str] = None,
                   extra_headers: Optional[Dict[str, Any]] = None) -> str:
    """A compact RS256 JWT (client assertions, GitHub App JWTs)."""
    try:
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding
    except ImportError:  # pragma: no cover - cryptography comes with requests[security]/boto3 setups
        raise ConfigError("signing a JWT needs the 'cryptography' package") from None
    header: Dict[str, Any] = {"alg": "RS256", "typ": "JWT"}
    if key_id:
        header["kid"] = key_id
    header.update(extra_headers or {})
    signing_input = "%s.%s" % (b64url(json.dumps(header, separators=(",", ":")).encode()),
                               b64url(json.dumps(claims, separators=(",", ":")).encode()))
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError("the private key is not an unencrypted PEM private key") from None
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr,call-arg]
    return signing_input + "." + b64url(signature)


def jwt_claims(token: str) -> Dict[str, Any]:
    """The claims of a JWT, unverified (to tell ``idgate doctor`` what a
    token holds; never used to trust anything)."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}


class TokenSource:
    """A bearer token, fetched when needed, cached until shortly before it
    expires, dropped on a 401 (``invalidate``)."""

    def __init__(self, fetch: Callable[[], Dict[str, Any]], secrets: Any = None):
        self._fetch = fetch
        self._secrets = secrets or default_secrets
        self._lock = threading.Lock()
        self._token: Optional[str] = None
        self._expires = 0.0
        self.last: Dict[str, Any] = {}    # the token response without the token

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.time() >= self._expires:
                answer = self._fetch()
                token = answer.get("access_token") or answer.get("token")
                if not token:
                    raise ConfigError("the token endpoint answered without a token")
                self._secrets.register(token)
                self._token = token
                self._expires = time.time() + max(0.0, float(answer.get("expires_in") or 3600) - EXPIRY_MARGIN)
                self.last = {k: v for k, v in answer.items() if k not in ("access_token", "token")}
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None


def static_token_source(value: str) -> TokenSource:
    return TokenSource(lambda: {"access_token": value, "expires_in": 10 ** 9})


def injected_token_source(provider: Callable[[], Any], secrets: Any = None) -> TokenSource:
    """``config["token_provider"]``: a callable returning a token string or a
    token response dict (msal, google-auth, a test)."""
    def fetch() -> Dict[str, Any]:
        answer = provider()
        return answer if isinstance(answer, dict) else {"access_token": str(answer), "expires_in": 300}
    return TokenSource(fetch, secrets)


def client_credentials(token_client: HttpClient, token_url: str, form: Callable[[], Dict[str, str]],
                       secrets: Any = None) -> TokenSource:
    """OAuth 2.0 client credentials (client secret or a signed assertion)."""
    def fetch() -> Dict[str, Any]:
        try:
            response = token_client.post(token_url, data=form(), idempotent=True,
                                         headers={"Accept": "application/json"})
        except HttpError as exc:
            raise ConfigError("%s: cannot get an access token: %s" % (token_client.provider, exc)) from None
        try:
            return response.json()
        except ValueError:
            raise ConfigError("%s: the token endpoint did not answer JSON" % token_client.provider) from None
    return TokenSource(fetch, secrets)


def client_assertion(client_id: str, audience: str, private_key_pem: str, key_id: Optional[str] = None) -> str:
    now = int(time.time())
    return sign_jwt_rs256({"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
                           "exp": now + 300, "jti": uuid.uuid4().hex}, private_key_pem, key_id)


def resolve_secret(config: Dict[str, Any], key: str, secrets: Any, provider: str,
                   required: bool = False) -> Optional[str]:
    ref = config.get(key)
    if ref is None:
        if required:
            raise ConfigError("executors.%s.%s is required" % (provider, key))
        return None
    return (secrets or default_secrets).resolve(ref, "executors.%s.%s" % (provider, key))


def union_scopes(scopes: Dict[str, List[str]]) -> List[str]:
    return sorted({s for values in scopes.values() for s in values})

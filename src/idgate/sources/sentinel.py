"""Microsoft Sentinel: incidents and their alerts (SecurityInsights REST).

Pull: incidents modified since the checkpoint (``$filter`` on
``properties/lastModifiedTimeUtc``, ``$orderby`` ascending), paged with
``nextLink``; each incident's alerts and entities are attached to it
(``idgate_alerts``, ``idgate_entities``) so the normaliser can name the
account. The token comes from the client-credentials flow and is fetched
again on a 401. Write-back: one incident comment per decision set (its id
derived from the decisions, so a retry does not duplicate it) and, when
configured, labels/classification through a PUT with the incident's etag.
"""
import json
import uuid
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Optional

import requests

from ..errors import IdgateError
from ..http import HttpClient, HttpError
from ..model import Alert
from ..secrets import register
from ._common import decision_comment, json_object, required, secret, strongest, tls_verify
from ._readers import file_records, sniff
from .base import AlertSource, Batch
from .mapping import MappedNormalizer, first_value

PLATFORM = "sentinel"
API_VERSION = "2024-03-01"
ARM = "https://management.azure.com"
LOGIN = "https://login.microsoftonline.com"


class SentinelNormalizer(MappedNormalizer):
    platform = PLATFORM

    def unwrap(self, value: Dict[str, Any]) -> Iterator[Any]:
        # an API example file: {"parameters", "responses": {"200": {"body": ...}}}
        responses = value.get("responses")
        if isinstance(responses, dict) and "parameters" in value:
            for status in ("200", "201"):
                body = (responses.get(status) or {}).get("body")
                if body is not None:
                    yield from self.records(body)
                    return
            return
        if isinstance(value.get("value"), list) and not value.get("properties"):
            yield from value["value"]
            return
        yield value

    def read_file(self, path: str, progress: Any = None) -> Optional[Iterator[Any]]:
        if sniff(path) != "csv":
            return None
        return file_records(path, "csv", lambda row, i: row, progress)

    def extra(self, record: Any, canon: Dict[str, Any], notes: List[str]) -> None:
        if canon.get("identity") is not None:
            return
        entities = record.get("idgate_entities") or record.get("Entities") or record.get("entities")
        if isinstance(entities, str):
            try:
                entities = json.loads(entities)
            except ValueError:
                notes.append("Entities is not valid JSON: ignored")
                return
        identity = identity_from_entities(entities if isinstance(entities, list) else [])
        if identity is not None:
            canon["identity"] = identity


def identity_from_entities(entities: List[Any]) -> Optional[Dict[str, Any]]:
    """The first account (or cloud application) among Sentinel entities, as
    the SecurityAlert table writes them (``Type: account``) or as the REST
    API returns them (``kind: Account``, fields under ``properties``)."""
    for entity in entities:
        if not isinstance(entity, dict):
            continue
        props = entity.get("properties") if isinstance(entity.get("properties"), dict) else entity
        kind = str(entity.get("kind") or entity.get("Type") or props.get("Type") or "").lower()
        fields = {str(k).lower(): v for k, v in props.items()}
        if kind == "account":
            name = fields.get("accountname") or fields.get("name")
            upn_suffix = fields.get("upnsuffix")
            upn = "%s@%s" % (name, upn_suffix) if name and upn_suffix else None
            domain = fields.get("ntdomain")
            ident_id = (fields.get("aaduserid") or upn or ("%s\\%s" % (domain, name) if domain and name else name))
            if not ident_id:
                continue
            return {"kind": "human", "id": str(ident_id), "name": str(upn or name or ident_id),
                    "provider": "entra" if fields.get("aaduserid") or upn else None, "tags": []}
        if kind in ("cloudapplication", "cloud-application"):
            app_id = fields.get("appid") or fields.get("applicationid")
            if app_id:
                return {"kind": "oauth_app", "id": str(app_id), "name": str(fields.get("name") or app_id),
                        "provider": "entra", "tags": []}
    return None


def normalizer(overrides: Optional[Dict[str, Any]] = None) -> SentinelNormalizer:
    return SentinelNormalizer(overrides)


class SentinelSource(AlertSource):
    def __init__(self, config: Dict[str, Any], secrets_module: Any,
                 session: Optional[requests.Session] = None, sleep: Any = None):
        source_id = str(config.get("id") or PLATFORM)
        super().__init__(source_id, SentinelNormalizer(config, instance=source_id))
        self.tenant = required(config, "tenant_id", source_id)
        self.client_id = required(config, "client_id", source_id)
        self.client_secret = secret(config, "client_secret", secrets_module, source_id)
        if not self.client_secret:
            raise IdgateError("source %s: client_secret is required (env:NAME or file:PATH)" % source_id)
        self.workspace_path = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.OperationalInsights/" \
            "workspaces/%s/providers/Microsoft.SecurityInsights" % (
                required(config, "subscription_id", source_id), required(config, "resource_group", source_id),
                required(config, "workspace", source_id))
        self.arm = str(config.get("arm_url") or ARM).rstrip("/")
        self.login_url = str(config.get("login_url") or LOGIN).rstrip("/")
        self.api_version = str(config.get("api_version") or API_VERSION)
        self.page_size = int(config.get("page_size", 50))
        self.write_back_config = dict(config.get("write_back") or {})
        self._token: Optional[str] = None
        kwargs: Dict[str, Any] = {"session": session} if session is not None else {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        common = dict(verify=tls_verify(config), proxies=config.get("proxies"), **kwargs)
        self.login = HttpClient("sentinel-login", self.login_url, **common)
        self.http = HttpClient(PLATFORM, self.arm, auth=self._auth, reauth=self._drop_token, **common)

    # -- auth
    def _fetch_token(self) -> str:
        response = self.login.post("/%s/oauth2/v2.0/token" % self.tenant, idempotent=True, data={
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": self.client_secret, "scope": self.arm + "/.default"})
        token = _json(response, "token endpoint").get("access_token")
        if not token:
            raise IdgateError("sentinel source %s: the token endpoint gave no access_token" % self.id)
        register(token)
        return str(token)

    def _auth(self, headers: Dict[str, str]) -> None:
        if self._token is None:
            self._token = self._fetch_token()
        headers["Authorization"] = "Bearer " + self._token

    def _drop_token(self) -> None:
        self._token = None

    # -- pull
    def pull(self, checkpoint: Optional[Dict[str, Any]]) -> Iterator[Batch]:
        since = (checkpoint or {}).get("last_modified")
        params: Dict[str, Any] = {"api-version": self.api_version, "$top": self.page_size,
                                  "$orderby": "properties/lastModifiedTimeUtc asc"}
        if since:
            params["$filter"] = "properties/lastModifiedTimeUtc gt %s" % since
        url: Optional[str] = self.workspace_path + "/incidents"
        newest = since
        while url:
            response = self.http.get(url, params=params)
            page = _json(response, "incidents")
            params = {}  # nextLink carries every parameter
            incidents = page.get("value")
            if not isinstance(incidents, list):
                raise IdgateError("sentinel source %s: the incidents answer has no value list" % self.id)
            records = []
            for incident in incidents:
                if not isinstance(incident, dict) or not incident.get("name"):
                    records.append(incident)  # the normaliser names what is wrong
                    continue
                incident = dict(incident)
                incident["idgate_alerts"] = self._list(incident, "alerts")
                incident["idgate_entities"] = self._list(incident, "entities", key="entities")
                modified = (incident.get("properties") or {}).get("lastModifiedTimeUtc")
                if modified and (newest is None or str(modified) > str(newest)):
                    newest = modified
                records.append(incident)
            url = page.get("nextLink")
            yield Batch(records, {"last_modified": newest})

    def _list(self, incident: Dict[str, Any], what: str, key: str = "value") -> List[Any]:
        # Incidents - List Alerts / List Entities are POSTs that only read
        path = "%s/incidents/%s/%s" % (self.workspace_path, incident["name"], what)
        response = self.http.post(path, params={"api-version": self.api_version}, idempotent=True, json={})
        body = _json(response, what)
        items = body.get(key) if isinstance(body, dict) else None
        return items if isinstance(items, list) else []

    # -- write back
    def write_back(self, alert: Alert, decisions: List[Dict[str, Any]]) -> None:
        if not decisions or self.write_back_config.get("enabled") is False:
            return
        incident_id = alert.source.record_id
        base = "%s/incidents/%s" % (self.workspace_path, incident_id)
        comment_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "idgate:" + ",".join(
            sorted(str(d.get("decision_id")) for d in decisions))))
        self.http.put("%s/comments/%s" % (base, comment_id), params={"api-version": self.api_version},
                      json={"properties": {"message": decision_comment(decisions)}})
        level = strongest(decisions)
        classification = (self.write_back_config.get("classification") or {}).get(level) if level else None
        label = "idgate-%s" % level if level and self.write_back_config.get("labels", True) else None
        if classification or label:
            self._update_incident(base, label, classification)

    def _update_incident(self, base: str, label: Optional[str], classification: Optional[str]) -> None:
        for attempt in range(2):
            current = _json(self.http.get(base, params={"api-version": self.api_version}), "incident")
            props = dict(current.get("properties") or {})
            labels = list(props.get("labels") or [])
            if label and not any(isinstance(lb, dict) and lb.get("labelName") == label for lb in labels):
                labels.append({"labelName": label, "labelType": "User"})
            body_props = {k: props[k] for k in ("title", "severity", "status", "owner", "description")
                          if k in props}
            body_props["labels"] = labels
            if classification:
                body_props.update({"status": "Closed", "classification": classification,
                                   "classificationComment": "closed by idgate decision"})
            body: Dict[str, Any] = {"properties": body_props}
            if current.get("etag"):
                body["etag"] = current["etag"]
            try:
                self.http.put(base, params={"api-version": self.api_version}, json=body,
                              headers={"If-Match": str(current.get("etag") or "*")})
                return
            except HttpError as exc:
                # someone changed the incident meanwhile: read it again once
                if exc.status != 412 or attempt:
                    raise


def _json(response: requests.Response, what: str) -> Dict[str, Any]:
    return json_object(response, "sentinel", what)


def source(config: Dict[str, Any], secrets_module: Any) -> SentinelSource:
    return SentinelSource(config, secrets_module)


def _utc(value: Any) -> Optional[str]:
    value = first_value(value)
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return str(value) if value else None

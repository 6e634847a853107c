"""Field mappings as data: platform record → canonical alert.

A mapping (``connectors/<platform>/mapping.yaml``) says where a platform
keeps each part of the canonical alert, in the spirit of pySigma processing
pipelines: the admin tunes data, not code. Paths are dotted; a path is looked
up first as a flat key (``kibana.alert.risk_score``), then as nested objects,
so both Elastic shapes work. ``detection.0.riskScore`` indexes a list and
``outcomes[key=risk_score].value`` selects the list item whose ``key`` is
``risk_score``. Where a list is found where one value is wanted (Splunk
multivalue fields, ECS arrays) its first element is used.

Conditions (``when``) map a path to a glob or a list of globs (any of,
case-insensitive); a path starting with ``$`` reads the alert being built
(``$identity.id``, ``$identity.kind``, ``$rule.name``, ``$severity``) and
``{field}`` in a path is the identity candidate's id field (so
``{field}_category`` reads ``src_user_category`` for ``src_user``).

Mappings are found in (1) an explicit path, (2) ``$IDGATE_CONNECTORS_DIR``,
(3) the repository's ``connectors/`` next to ``src/`` (source checkouts and
editable installs), (4) the copy packaged under ``idgate/data/connectors/``.
"""
import copy
import fnmatch
import hashlib
import os
import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ..errors import ConfigError, RecordError
from ..model import Alert
from ..yamlsafe import load_yaml
from .base import Normalizer

_HERE = os.path.dirname(os.path.abspath(__file__))
REPO_CONNECTORS = os.path.normpath(os.path.join(_HERE, "..", "..", "..", "connectors"))
PACKAGED_CONNECTORS = os.path.normpath(os.path.join(_HERE, "..", "data", "connectors"))
SEVERITIES = ("informational", "low", "medium", "high", "critical")
KINDS = ("human", "service_account", "workload", "api_key", "oauth_app", "ai_agent", "bot")
_MISSING = object()


# ---------------------------------------------------------------- loading

def mapping_search_path(platform: str, explicit: Optional[str] = None) -> List[str]:
    candidates = []
    if explicit:
        candidates.append(explicit)
    env = os.environ.get("IDGATE_CONNECTORS_DIR")
    if env:
        candidates.append(os.path.join(env, platform, "mapping.yaml"))
    candidates.append(os.path.join(REPO_CONNECTORS, platform, "mapping.yaml"))
    candidates.append(os.path.join(PACKAGED_CONNECTORS, platform, "mapping.yaml"))
    return candidates


def find_mapping_file(platform: str, explicit: Optional[str] = None) -> str:
    if explicit:
        if not os.path.isfile(explicit):
            raise ConfigError("mapping file %s does not exist" % explicit, key="mapping_file")
        return explicit
    for path in mapping_search_path(platform):
        if os.path.isfile(path):
            return path
    raise ConfigError("no field mapping for platform %r (looked in: %s)"
                      % (platform, ", ".join(mapping_search_path(platform))))


@lru_cache(maxsize=64)
def _read_mapping(path: str, mtime: float) -> Dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError as exc:
        raise ConfigError("cannot read mapping: %s" % exc.strerror, path) from None
    located = load_yaml(text, path)
    if not isinstance(located.data, dict):
        raise ConfigError("a mapping must be a YAML mapping (key: value)", path, 1)
    return located.data


def deep_merge(base: Dict[str, Any], override: Dict[str, Any]) -> Dict[str, Any]:
    """``override`` over ``base``: dicts merge key by key, anything else
    (lists included) replaces; a ``null`` removes the key."""
    out = dict(base)
    for key, value in override.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_mapping(platform: str, overrides: Optional[Dict[str, Any]] = None) -> "Mapping":
    """The platform's default mapping with the run config's overrides:
    ``mapping_file: path`` replaces the default file, ``mapping: {...}`` is
    deep-merged over it."""
    overrides = dict(overrides or {})
    # a run-config source section may be passed whole: take only the mapping keys
    explicit = overrides.pop("mapping_file", None)
    inline = overrides.pop("mapping", None)
    if inline is None and overrides and not {"type", "url", "id"} & set(overrides):
        inline, overrides = overrides, {}
    path = find_mapping_file(platform, explicit)
    data = copy.deepcopy(_read_mapping(path, os.path.getmtime(path)))
    if inline:
        if not isinstance(inline, dict):
            raise ConfigError("mapping: must be a mapping of keys to override", key="mapping")
        data = deep_merge(data, inline)
    return Mapping(platform, data, path)


# ---------------------------------------------------------------- paths

_SEGMENT = re.compile(r"^([^\[]*)\[([^=\]]+)=([^\]]*)\]$")


def _compile_path(path: str) -> Callable[[Any], Any]:
    """A getter for ``path`` (see the module doc). Returns ``_MISSING``."""
    parts = path.split(".")

    def walk(node: Any, i: int) -> Any:
        if i == len(parts):
            return node
        if isinstance(node, list):
            if parts[i].isdigit():
                idx = int(parts[i])
                return walk(node[idx], i + 1) if idx < len(node) else _MISSING
            if not node:
                return _MISSING
            node = node[0]
        if not isinstance(node, dict):
            return _MISSING
        # the longest flat key first: "kibana.alert.rule.name" before "kibana"
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            sel = _SEGMENT.match(key) if "[" in key else None
            if sel:
                items = node.get(sel.group(1), _MISSING)
                if isinstance(items, list):
                    for item in items:
                        if isinstance(item, dict) and str(item.get(sel.group(2))) == sel.group(3):
                            found = walk(item, j)
                            if found is not _MISSING:
                                return found
                continue
            if key in node:
                found = walk(node[key], j)
                if found is not _MISSING:
                    return found
        return _MISSING

    if len(parts) == 1 and "[" not in path:
        def flat(node: Any) -> Any:  # the common case, made cheap
            return node.get(path, _MISSING) if isinstance(node, dict) else _MISSING
        return flat
    return lambda node: walk(node, 0)


@lru_cache(maxsize=4096)
def getter(path: str) -> Callable[[Any], Any]:
    return _compile_path(path)


def present(value: Any) -> bool:
    return value is not _MISSING and value is not None and value != "" and value != []


def first_value(value: Any) -> Any:
    while isinstance(value, list):
        if not value:
            return _MISSING
        value = value[0]
    return value


def lookup(record: Any, paths: Iterable[str]) -> Tuple[Any, Optional[str]]:
    """The first present value among ``paths`` and the path it came from."""
    for path in paths:
        value = getter(path)(record)
        if present(value):
            return value, path
    return None, None


def as_list(spec: Any) -> List[Any]:
    if spec is None:
        return []
    return list(spec) if isinstance(spec, (list, tuple)) else [spec]


# ---------------------------------------------------------------- time

_US_TIME = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})[ T](\d{1,2}):(\d{2}):(\d{2})(?:\s*([AaPp][Mm]))?$")
_ISO_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.I)


def parse_time(value: Any) -> Optional[datetime]:
    """Timestamps as platforms write them: ISO 8601 (7-digit fractions,
    one-digit hours, a space for T, no zone = UTC), epoch seconds or
    milliseconds (numbers or digit strings), US ``M/D/YYYY h:mm:ss PM``."""
    value = first_value(value)
    if value is _MISSING or value is None or value == "":
        return None
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _epoch(float(value))
    text = str(value).strip()
    try:
        return _epoch(float(text))
    except ValueError:
        pass
    m = _ISO_TIME.match(text)
    if m:
        y, mo, d, h, mi, s, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        when = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(s or 0), micro)
        return when.replace(tzinfo=_zone(tz))
    m = _US_TIME.match(text)
    if m:
        mo, d, y, h, mi, s, ampm = m.groups()
        hour = int(h) % 12 + (12 if ampm and ampm.lower() == "pm" else 0) if ampm else int(h)
        return datetime(int(y), int(mo), int(d), hour, int(mi), int(s), tzinfo=timezone.utc)
    return None


def _epoch(seconds: float) -> Optional[datetime]:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    if seconds <= 0:
        return None
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _zone(tz: Optional[str]) -> timezone:
    if not tz or tz.upper() == "Z":
        return timezone.utc
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


# ---------------------------------------------------------------- conditions

class _Patterns:
    """Globs (any of, case-insensitive) compiled once into one regex."""

    def __init__(self, spec: Any):
        globs = [str(v).lower() for v in as_list(spec)]
        self.exact = frozenset(g for g in globs if not any(c in g for c in "*?["))
        wild = [fnmatch.translate(g) for g in globs if g not in self.exact]
        self.regex = re.compile("|".join("(?:%s)" % w for w in wild)) if wild else None

    def __call__(self, value: Any) -> bool:
        values = value if isinstance(value, list) else (value,)
        for v in values:
            if v is None or v is _MISSING:
                continue
            text = str(v).lower()
            if text in self.exact or (self.regex is not None and self.regex.match(text)):
                return True
        return False


def _canon_getter(path: str) -> Callable[[Any], Any]:
    keys = path.split(".")

    def get(node: Any) -> Any:
        for key in keys:
            if not isinstance(node, dict):
                return _MISSING
            node = node.get(key, _MISSING)
        return node
    return get


class When:
    """A compiled ``when:`` — every key must match (any of its globs)."""

    def __init__(self, spec: Any, where: str):
        if not isinstance(spec, dict) or not spec:
            raise ConfigError("%s: when: must be a mapping of field to glob(s)" % where)
        self.tests = []
        for key, value in spec.items():
            path = str(key)
            canon_get = _canon_getter(path[1:]) if path.startswith("$") else None
            self.tests.append((path, "{field}" in path, canon_get, _Patterns(value)))

    def __call__(self, record: Any, canon: Dict[str, Any], field: str = "") -> bool:
        for path, templated, canon_get, patterns in self.tests:
            if canon_get is not None:
                value = canon_get(canon)
            elif templated:
                if not field:
                    return False
                value = getter(path.replace("{field}", field))(record)
            else:
                value = getter(path)(record)
            if not patterns(value):
                return False
        return True


# ---------------------------------------------------------------- the mapping

class Mapping:
    """A validated mapping, compiled for speed (a million rows go through it)."""

    def __init__(self, platform: str, data: Dict[str, Any], file: str = ""):
        self.platform, self.data, self.file = platform, data, file
        where = file or platform
        self.id_paths = as_list(data.get("id"))
        self.id_from_content = bool(data.get("id_from_content", False))
        if not self.id_paths:
            raise ConfigError("id: name the field(s) holding the record id", where, key="id")
        self.time_paths = as_list(data.get("detected_at"))
        rule = data.get("rule") or {}
        self.rule_id_paths = as_list(rule.get("id"))
        self.rule_name_paths = as_list(rule.get("name"))
        self.instance_paths = as_list(data.get("instance"))
        self._severity(data.get("severity") or {}, where)
        self._ai(data.get("ai") or {}, where)
        self._identity(data.get("identity") or {}, where)
        self._recommendations(data.get("recommendations") or {}, where)

    # -- parts
    def _severity(self, spec: Dict[str, Any], where: str) -> None:
        self.severity_paths = as_list(spec.get("fields"))
        self.severity_map = {str(k).lower(): v for k, v in (spec.get("map") or {}).items()}
        for key, value in self.severity_map.items():
            if value is not None and value not in SEVERITIES:
                raise ConfigError("severity.map.%s: %r is not one of %s" % (key, value, ", ".join(SEVERITIES)),
                                  where, key="severity.map")
        self.severity_ranges = []
        for item in spec.get("ranges") or []:
            if not isinstance(item, (list, tuple)) or len(item) != 2 or item[1] not in SEVERITIES:
                raise ConfigError("severity.ranges: items are [minimum, severity]", where, key="severity.ranges")
            self.severity_ranges.append((float(item[0]), item[1]))
        self.severity_ranges.sort(reverse=True)

    def _ai(self, spec: Dict[str, Any], where: str) -> None:
        self.score_fields: List[Tuple[str, float]] = []
        for item in as_list(spec.get("score")):
            if isinstance(item, str):
                self.score_fields.append((item, 1.0))
            elif isinstance(item, dict) and "field" in item:
                scale = float(item.get("scale", 1))
                if scale not in (1.0, 10.0, 100.0):
                    raise ConfigError("ai.score: scale must be 1, 10 or 100", where, key="ai.score.scale")
                self.score_fields.append((str(item["field"]), scale))
            else:
                raise ConfigError("ai.score: items are a field name or {field, scale}", where, key="ai.score")
        self.model_paths = as_list(spec.get("model"))
        self.model_default = spec.get("model_default")
        self.model_version_paths = as_list(spec.get("model_version"))
        self.verdict_paths = as_list(spec.get("verdict"))
        self.rationale_paths = as_list(spec.get("rationale"))

    def _identity(self, spec: Dict[str, Any], where: str) -> None:
        self.candidates = []
        for i, cand in enumerate(spec.get("candidates") or []):
            if not isinstance(cand, dict) or "id" not in cand:
                raise ConfigError("identity.candidates[%d]: needs id: FIELD" % i, where, key="identity.candidates")
            kind = cand.get("kind", "human")
            if kind not in KINDS:
                raise ConfigError("identity.candidates[%d].kind: %r is not one of %s" % (i, kind, ", ".join(KINDS)),
                                  where, key="identity.candidates")
            self.candidates.append({
                "id": str(cand["id"]), "name": cand.get("name"), "kind": kind,
                "provider": cand.get("provider"), "id_prefix": cand.get("id_prefix", ""),
                "when": When(cand["when"], "identity.candidates[%d]" % i) if cand.get("when") else None,
                "owner": as_list(cand.get("owner")), "tags": as_list(cand.get("tags")),
            })
        if not self.candidates:
            raise ConfigError("identity.candidates: name at least one identity field", where,
                              key="identity.candidates")
        self.kind_rules = self._rules(spec.get("kind"), "kind", KINDS, where)
        self.tier_rules = self._rules(spec.get("tier"), "tier", None, where)
        self.provider_rules = self._rules(spec.get("provider"), "provider", None, where)
        self.tag_paths = as_list(spec.get("tags"))
        self.unattributed_kind = spec.get("unattributed_kind", "human")

    @staticmethod
    def _rules(items: Any, key: str, allowed: Optional[Tuple[str, ...]], where: str) -> List[Tuple[When, str]]:
        rules = []
        for i, item in enumerate(items or []):
            if not isinstance(item, dict) or key not in item or "when" not in item:
                raise ConfigError("identity.%s[%d]: needs when: and %s:" % (key, i, key), where,
                                  key="identity.%s" % key)
            if allowed and item[key] not in allowed:
                raise ConfigError("identity.%s[%d]: %r is not one of %s" % (key, i, item[key], ", ".join(allowed)),
                                  where, key="identity.%s" % key)
            rules.append((When(item["when"], "identity.%s[%d]" % (key, i)), str(item[key])))
        return rules

    def _recommendations(self, spec: Dict[str, Any], where: str) -> None:
        self.rec_paths = as_list(spec.get("fields"))
        self.rec_confidence_scale = float(spec.get("confidence_scale", 1))
        self.action_table = []
        for i, row in enumerate(spec.get("table") or []):
            if not isinstance(row, dict) or "when" not in row or not row.get("actions"):
                raise ConfigError("recommendations.table[%d]: needs when: and actions:" % i, where,
                                  key="recommendations.table")
            self.action_table.append((When(row["when"], "recommendations.table[%d]" % i),
                                      [str(a) for a in as_list(row["actions"])], row.get("params") or {}))

    # -- applying
    def record_id(self, record: Any) -> Optional[str]:
        value, _ = lookup(record, self.id_paths)
        value = first_value(value)
        if value is None or value is _MISSING:
            if self.id_from_content and isinstance(record, dict) and record:
                # rows without an id (stats results): a digest of the row, stable across reads
                from .. import jsonfast
                digest = hashlib.sha256(jsonfast.dumpb(_sorted(record))).hexdigest()
                return "sha256:" + digest[:32]
            return None
        return str(value)

    def severity(self, record: Any) -> Optional[str]:
        # the first field that maps to a severity wins ("unknown" falls through)
        for path in self.severity_paths:
            raw = first_value(getter(path)(record))
            if raw is None or raw is _MISSING or raw == "":
                continue
            sev = self._one_severity(str(raw).strip().lower())
            if sev is not None:
                return sev
        return None

    def _one_severity(self, text: str) -> Optional[str]:
        if text in self.severity_map:
            return self.severity_map[text]
        if text in SEVERITIES:
            return text
        if self.severity_ranges:
            try:
                number = float(text)
            except ValueError:
                return None
            for minimum, sev in self.severity_ranges:
                if number >= minimum:
                    return sev
        return None

    def ai(self, record: Any, notes: List[str]) -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        for path, scale in self.score_fields:
            value = first_value(getter(path)(record))
            if not present(value):
                continue
            try:
                score = float(value) / scale
            except (TypeError, ValueError):
                notes.append("ai score field %s is not a number (%r): not scored" % (path, str(value)[:40]))
                break
            if not 0.0 <= score <= 1.0:
                raise RecordError("ai score %s=%r is outside 0..%g" % (path, value, scale))
            out["score"] = round(score, 6)
            out["score_field"] = path
            break
        if "score" not in out:
            out["score"] = None
            out["unscored_reason"] = ("the record carries no AI score (looked in: %s)"
                                      % (", ".join(p for p, _ in self.score_fields) or "no score field mapped"))
        for key, paths in (("model", self.model_paths), ("model_version", self.model_version_paths),
                           ("verdict", self.verdict_paths), ("rationale", self.rationale_paths)):
            value, _ = lookup(record, paths)
            value = first_value(value)
            if value is not None and value is not _MISSING:
                out[key] = value if isinstance(value, str) else str(value)
        if "model" not in out and self.model_default:
            out["model"] = self.model_default
        return out

    def identity(self, record: Any, canon: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        for cand in self.candidates:
            value = first_value(getter(cand["id"])(record))
            if not present(value):
                continue
            if cand["when"] is not None and not cand["when"](record, canon, cand["id"]):
                continue
            ident: Dict[str, Any] = {"kind": cand["kind"], "id": cand["id_prefix"] + str(value)}
            name = first_value(getter(cand["name"])(record)) if cand["name"] else value
            ident["name"] = str(name) if present(name) else str(value)
            if cand["provider"]:
                ident["provider"] = cand["provider"]
            ident["field"] = cand["id"]
            canon["identity"] = ident
            for when, provider in self.provider_rules:
                if when(record, canon, cand["id"]):
                    ident["provider"] = provider
                    break
            for when, kind in self.kind_rules:
                if when(record, canon, cand["id"]):
                    ident["kind"] = kind
                    break
            for when, tier in self.tier_rules:
                if when(record, canon, cand["id"]):
                    ident["tier"] = tier
                    break
            owner, _ = lookup(record, [p.replace("{field}", cand["id"]) for p in cand["owner"]])
            owner = first_value(owner)
            if present(owner):
                ident["owner"] = str(owner)
            tags: List[str] = [str(t) for t in cand["tags"]]
            for path in self.tag_paths:
                value = getter(path.replace("{field}", cand["id"]))(record)
                if present(value):
                    tags.extend(str(v) for v in as_list(value) if v not in (None, ""))
            ident["tags"] = list(dict.fromkeys(tags))
            return ident
        return None

    def recommendations(self, record: Any, canon: Dict[str, Any], notes: List[str]) -> List[Dict[str, Any]]:
        value, path = lookup(record, self.rec_paths)
        if value is not None:
            recs = self._structured(value, path or "", notes)
            if recs:
                for rec in recs:
                    rec.setdefault("source", "platform")
                return recs
        out = []
        for when, actions, params in self.action_table:
            if when(record, canon, canon.get("identity", {}).get("field", "")):
                for action in actions:
                    out.append({"action": action, "params": dict(params), "source": "mapping"})
                break
        return out

    def _structured(self, value: Any, path: str, notes: List[str]) -> List[Dict[str, Any]]:
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            from .. import jsonfast
            try:
                value = jsonfast.loads(value)
            except jsonfast.DecodeError:
                notes.append("recommendations in %s are not valid JSON: ignored" % path)
                return []
        recs = []
        for item in as_list(value):
            if isinstance(item, str) and item.strip():
                recs.append({"action": item.strip()})
            elif isinstance(item, dict) and item.get("action"):
                rec = {k: item[k] for k in ("action", "target", "params", "rationale") if item.get(k) is not None}
                if item.get("confidence") not in (None, ""):
                    try:
                        rec["confidence"] = float(item["confidence"]) / self.rec_confidence_scale
                    except (TypeError, ValueError):
                        raise RecordError("recommendation confidence %r in %s is not a number"
                                          % (item["confidence"], path)) from None
                recs.append(rec)
        return recs


# ---------------------------------------------------------------- normaliser

class MappedNormalizer(Normalizer):
    """A normaliser driven by a ``Mapping``. Platform modules subclass it to
    unwrap API envelopes (``unwrap``) and to prepare odd records
    (``prepare``: e.g. parse JSON held in strings)."""

    platform = ""

    def __init__(self, overrides: Optional[Dict[str, Any]] = None, instance: Optional[str] = None):
        self.mapping = load_mapping(self.platform, overrides)
        self.instance = instance

    def records(self, value: Any) -> Iterator[Any]:
        """Arrays are flattened, objects go through ``unwrap``; anything else
        is passed on as a record (and refused by ``normalize``)."""
        if isinstance(value, list):
            for item in value:
                yield from self.records(item)
        elif isinstance(value, dict):
            yield from self.unwrap(value)
        else:
            yield value

    def unwrap(self, value: Dict[str, Any]) -> Iterator[Any]:
        """The records inside one JSON object (an API envelope), or itself."""
        yield value

    def record_id(self, record: Any) -> Optional[str]:
        try:
            return self.mapping.record_id(self.prepare(record))
        except Exception:
            return None

    def prepare(self, record: Any) -> Any:
        return record

    def extra(self, record: Any, canon: Dict[str, Any], notes: List[str]) -> None:
        """Platform-specific touches after the mapping ran (identity from
        entities, etc.). Default: nothing."""

    def normalize(self, record: Any) -> Alert:
        if not isinstance(record, dict):
            raise RecordError("expected a JSON object, got %s" % type(record).__name__)
        record = self.prepare(record)
        m = self.mapping
        rid = m.record_id(record)
        if rid is None:
            raise RecordError("%s record has no id (looked in: %s)" % (self.platform, ", ".join(m.id_paths)))
        try:
            return self._normalize(record, rid)
        except RecordError as exc:
            exc.record_id = exc.record_id or rid
            if not exc.message.startswith(self.platform):
                exc.message = "%s record %s: %s" % (self.platform, rid, exc.message)
                exc.args = (exc.message,)
            raise

    def _normalize(self, record: Dict[str, Any], rid: str) -> Alert:
        m = self.mapping
        notes: List[str] = []
        when_value, when_path = lookup(record, m.time_paths)
        detected = parse_time(when_value)
        if detected is None:
            if when_value is not None:
                raise RecordError("%s=%r is not a time I can read" % (when_path, str(first_value(when_value))[:40]))
            # nothing to date it by (a stats row): the time idgate received it, said so
            detected = datetime.now(timezone.utc)
            notes.append("no time in the record (looked in: %s): detected_at is the time idgate read it"
                         % ", ".join(m.time_paths))
        instance, _ = lookup(record, m.instance_paths)
        source: Dict[str, Any] = {"platform": self.platform, "record_id": rid,
                                  "instance": self.instance or (str(first_value(instance)) if instance else None)}
        canon: Dict[str, Any] = {"id": "%s:%s" % (self.platform, rid), "source": source, "detected_at": detected}
        rule_id, _ = lookup(record, m.rule_id_paths)
        rule_name, _ = lookup(record, m.rule_name_paths)
        if rule_id is not None or rule_name is not None:
            canon["rule"] = {"id": _text(rule_id), "name": _text(rule_name)}
        canon["severity"] = m.severity(record)
        canon["ai"] = m.ai(record, notes)
        identity = m.identity(record, canon)
        self.extra(record, canon, notes)
        identity = canon.get("identity") or identity
        if identity is None:
            canon["identity"] = {"kind": m.unattributed_kind, "id": "unattributed:%s" % canon["id"],
                                 "tags": ["unattributed"]}
            notes.append("no identity in the record (looked in: %s): unattributed, no recommendation derived"
                         % ", ".join(c["id"] for c in m.candidates))
            canon["recommendations"] = []
        else:
            canon["identity"] = identity
            if "recommendations" not in canon:
                canon["recommendations"] = m.recommendations(record, canon, notes)
            identity.pop("field", None)
        if notes:
            source["notes"] = notes
        canon["raw"] = record
        try:
            return Alert.model_validate(canon)
        except ValueError as exc:
            from ..validation import one_line
            raise RecordError(one_line(exc, canon) if hasattr(exc, "errors") else str(exc)) from None


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _text(value: Any) -> Optional[str]:
    value = first_value(value)
    return None if value is None or value is _MISSING else str(value)

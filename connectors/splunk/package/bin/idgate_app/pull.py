"""The ``idgate_pull`` modular input: pulls ES notables from this Splunk on
a schedule through the ES source (export search, index-time windows) and the
pipeline, with its checkpoints in the KV store (``idgate_checkpoints``)
committed with each batch's decisions."""
import logging
from typing import Any, Dict, Optional

from idgate import secrets
from idgate.pipeline import Pipeline
from idgate.sources.splunk_es import SplunkESSource

from .context import SplunkContext

log = logging.getLogger("idgate.pull")


def pull_once(name: str, item: Dict[str, Any], context: SplunkContext) -> Dict[str, Any]:
    secrets.add_resolver("splunksession", lambda _: context.session_key)
    config = {"id": "idgate_pull:%s" % name, "url": context.splunkd_uri, "token": "splunksession:current",
              "search": item.get("search") or "search `notable`", "overlap": item.get("overlap") or "300s",
              "write_back": {"enabled": str(item.get("write_back", "1")).lower() in ("1", "true")}}
    source = SplunkESSource(config, secrets)
    # the input's session key authenticates as "Splunk <key>", not as a bearer token
    source.service = context.service
    source._logged_in = True
    summary = Pipeline(context.engine(), [source]).run_once()
    return summary.to_dict()


def stream_events(inputs: Any, event_writer: Any, context: Optional[SplunkContext] = None) -> None:
    meta = inputs.metadata
    for stanza, item in inputs.inputs.items():
        name = stanza.split("://", 1)[-1]
        try:
            ctx = context or SplunkContext(meta["server_uri"], meta["session_key"])
            summary = pull_once(name, item, ctx)
            log.info("idgate_pull %s: %s", name, summary)
        except Exception as exc:  # one input's failure must not stop the others
            log.error("idgate_pull %s failed: %s", name, secrets.redact(str(exc)).splitlines()[0] if str(exc)
                      else type(exc).__name__)

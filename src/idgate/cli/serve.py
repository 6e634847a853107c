"""idgate serve: the HTTP API (needs the optional extra idgate[server])."""
import json
import logging
import os
import sys
from typing import Any

from ..errors import IdgateError
from ._common import add_state_arg


def register(sub: Any) -> None:
    p = sub.add_parser("serve", help="the HTTP API for SOAR playbooks and other callers",
                       description="Serve idgate's HTTP JSON API (OpenAPI at /openapi.json). Callers and "
                                   "their roles come from the run config's api: section. Binds to "
                                   "127.0.0.1 unless told otherwise.")
    p.add_argument("--config", default=None, metavar="C", help="run config (default $IDGATE_CONFIG)")
    add_state_arg(p)
    p.add_argument("--host", default=None, help="address to bind (default: api.bind, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default: api.port, 8742; 0 picks a free one)")
    p.add_argument("--openapi", metavar="FILE", default=None,
                   help="write the OpenAPI document to FILE ('-' for stdout) and exit")
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.set_defaults(handler=cmd_serve)


def api_config_of(config: Any) -> Any:
    """The run config's api: section (RunConfig.api, an ApiConfig)."""
    from ..api.config import ApiConfig
    section = getattr(config, "api", None)
    if section is None:
        raise IdgateError("the run config has no api: section: add api: {tokens: [{token: env:NAME, "
                          "caller: NAME, roles: [evaluator]}]}")
    return section if isinstance(section, ApiConfig) else ApiConfig.model_validate(section)


def cmd_serve(args: Any) -> int:
    if args.openapi:
        from ..api.openapi import build_openapi
        text = json.dumps(build_openapi(), indent=2, sort_keys=False) + "\n"
        if args.openapi == "-":
            sys.stdout.write(text)
        else:
            with open(args.openapi, "w", encoding="utf-8") as fh:
                fh.write(text)
            print("wrote %s" % args.openapi, file=sys.stderr)
        return 0
    from ..engine import Engine
    from ..runconfig import load_run_config
    from ..secrets import install_log_redaction
    path = args.config or os.environ.get("IDGATE_CONFIG")
    if not path:
        raise IdgateError("which run config? pass --config C (or set IDGATE_CONFIG)")
    config = load_run_config(path)
    api_config = api_config_of(config)
    if not api_config.tokens:
        raise IdgateError("%s: api.tokens is empty: nobody could call the API" % path)
    host = args.host or api_config.bind
    port = api_config.port if args.port is None else args.port
    try:
        import uvicorn
        from ..api.app import create_app
    except ImportError as exc:
        raise IdgateError("idgate serve needs the server extra: pip install 'idgate[server]' (%s)" % exc) from None
    engine = Engine(config, state_dir=args.state)
    app = create_app(engine, api_config.model_copy(update={"bind": host, "port": port}))
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    if host not in ("127.0.0.1", "localhost", "::1"):
        print("idgate serve: listening on %s, not loopback: put TLS in front of it" % host, file=sys.stderr)
    # no access log: paths are enough for the handlers' own log lines, and headers never reach a log
    uvicorn.run(app, host=host, port=port, log_level=args.log_level, access_log=False, server_header=False)
    engine.close()
    return 0

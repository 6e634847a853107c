"""Entry point of idgate's persistent REST handler (restmap.conf)."""
import idgate_bootstrap  # noqa: F401  (vendored libraries first)

from idgate_app.rest import IdgateRestHandler  # noqa: F401  (splunkd instantiates it)

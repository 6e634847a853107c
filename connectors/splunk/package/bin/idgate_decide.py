"""Entry point of the idgate_decide alert action (alert_actions.conf)."""
import sys

import idgate_bootstrap  # noqa: F401  (vendored libraries first)

from idgate_app.alert import main

if __name__ == "__main__":
    sys.exit(main(sys.argv, sys.stdin))

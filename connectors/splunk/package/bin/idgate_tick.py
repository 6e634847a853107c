"""Entry point of | idgatetick (scheduled housekeeping)."""
import sys

import idgate_bootstrap  # noqa: F401  (vendored libraries first)
from splunklib.searchcommands import dispatch

from idgate_app.command import TickCommand

if __name__ == "__main__":
    dispatch(TickCommand, sys.argv, sys.stdin, sys.stdout, __name__)

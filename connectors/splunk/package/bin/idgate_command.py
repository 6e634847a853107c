"""Entry point of the ``| idgate`` search command (commands.conf)."""
import sys

import idgate_bootstrap  # noqa: F401  (vendored libraries first)
from splunklib.searchcommands import dispatch

from idgate_app.command import IdgateCommand

if __name__ == "__main__":
    dispatch(IdgateCommand, sys.argv, sys.stdin, sys.stdout, __name__)

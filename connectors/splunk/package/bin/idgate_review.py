"""Entry point of | idgatereview (dashboard approve/deny)."""
import sys

import idgate_bootstrap  # noqa: F401  (vendored libraries first)
from splunklib.searchcommands import dispatch

from idgate_app.command import ReviewCommand

if __name__ == "__main__":
    dispatch(ReviewCommand, sys.argv, sys.stdin, sys.stdout, __name__)

"""The ``idgate`` command line.

Each module of this package that defines ``register(subparsers)`` adds its
commands, so a new capability is a new module, not an edit here. Bad input
or config ends with one line on stderr and exit status 2, never a traceback.
"""
import argparse
import importlib
import os
import pkgutil
import sys
from typing import List, Optional

from ..errors import IdgateError
from ..secrets import redact

EPILOG = """\
State lives in --state DIR (default .idgate/ here, or $IDGATE_STATE).
Exit status: 0 success, 2 bad input or config (one line on stderr).
Start with:  idgate demo    then   idgate queue list
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idgate", epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="The gate between AI security recommendations and identity changes: "
                    "decides for each AI recommendation whether it is advisory, needs human "
                    "review, runs automatically, or is blocked.")
    parser.add_argument("--version", action="version", version="idgate %s" % _version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):  # type: ignore[name-defined]
        if info.name.startswith("_"):
            continue
        module = importlib.import_module("%s.%s" % (__name__, info.name))
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("idgate")
    except Exception:
        return "0+unknown"


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except IdgateError as exc:
        _fail(str(exc))
        return 2
    except KeyboardInterrupt:
        print("idgate: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (| head): not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:
        if os.environ.get("IDGATE_DEBUG"):
            raise
        _fail("internal error: %s: %s (set IDGATE_DEBUG=1 for the traceback)" % (
            type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ""))
        return 1


def _fail(message: str) -> None:
    print("idgate: %s" % redact(message).replace("\n", " "), file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

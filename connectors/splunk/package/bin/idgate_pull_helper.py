"""Helper of the UCC-generated idgate_pull modular input."""
import idgate_bootstrap  # noqa: F401  (vendored libraries first)

from idgate_app.pull import stream_events as _stream_events


def validate_input(definition):  # type: ignore[no-untyped-def]
    from idgate.sources._common import seconds
    seconds(definition.parameters, "overlap", 300)  # a bad duration: one-line ConfigError


def stream_events(inputs, event_writer):  # type: ignore[no-untyped-def]
    _stream_events(inputs, event_writer)

"""Errors a user can act on. The CLI prints them as one line and exits 2."""


class IdgateError(Exception):
    """Bad input or configuration: shown to the user as one line."""


class ConfigError(IdgateError):
    """A config file is wrong. ``str()`` is ``file:line: key: message``."""

    def __init__(self, message: str, file: str = "", line: int = 0, key: str = ""):
        self.file, self.line, self.key, self.message = file, line, key, message
        where = file or "<config>"
        if line:
            where += ":%d" % line
        super().__init__("%s: %s%s" % (where, key + ": " if key else "", message))


class RecordError(IdgateError):
    """One input record cannot be used; the rest of the batch goes on."""

    def __init__(self, message: str, record: object = None, record_id: object = None):
        self.record, self.record_id, self.message = record, record_id, message
        super().__init__(message)

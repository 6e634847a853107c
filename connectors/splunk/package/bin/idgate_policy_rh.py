"""REST handler of the Policy configuration tab (UCC): validates and lints
the mapping config on save with the CLI's one-line errors, and keeps every
saved version in the KV store with the Splunk user who saved it."""
import import_declare_test  # noqa: F401  (UCC: lib/ on sys.path)
import idgate_bootstrap  # noqa: F401

from splunktaucclib.rest_handler.admin_external import AdminExternalHandler
from splunktaucclib.rest_handler.error import RestError

from idgate.errors import IdgateError
from idgate_app.policies import PolicyStore, check


class PolicyHandler(AdminExternalHandler):
    def _save(self, confInfo, parent):  # type: ignore[no-untyped-def]
        kind = self.callerArgs.id
        text = (self.payload.get("yaml") or "")
        try:
            check(text, kind)
        except IdgateError as exc:
            raise RestError(400, str(exc).splitlines()[0])
        parent(confInfo)
        from idgate_app.context import SplunkContext
        ctx = SplunkContext(self._splunkd_uri(), self.getSessionKey(), self.userName)
        PolicyStore(ctx.state).save(kind, text, self.userName, self.payload.get("comment") or "")

    def _splunkd_uri(self):  # type: ignore[no-untyped-def]
        from splunk.rest import makeSplunkdUri  # type: ignore  (inside splunkd only)
        return makeSplunkdUri().rstrip("/")

    def handleCreate(self, confInfo):  # type: ignore[no-untyped-def]
        self._save(confInfo, super().handleCreate)

    def handleEdit(self, confInfo):  # type: ignore[no-untyped-def]
        self._save(confInfo, super().handleEdit)

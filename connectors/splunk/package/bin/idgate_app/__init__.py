"""The Splunk app's glue around idgate: Splunk context (session keys, KV
store, password storage, the app's configuration) → idgate's engine."""
APP = "idgate"

"""idgate's HTTP API: framework-neutral handlers (``handlers``), the ASGI app
(``app``, needs ``idgate[server]``), the ``api:`` config section (``config``)."""

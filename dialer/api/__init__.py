"""HTTP control API: supervisor and agent routes, live status, health, /metrics, wallboard.

The routes talk to the engine only through :class:`dialer.api.ports.ControlPort`;
``dialer.api.app.create_app`` builds the application.
"""

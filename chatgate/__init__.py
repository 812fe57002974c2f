"""The front door: the HTTP API, the ``chatgate`` command and the wiring of the parts."""

__version__ = "0.1.0"

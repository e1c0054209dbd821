"""fanpin: the nightly return-to-poverty monitoring pipeline (CLI, settings, file IO)."""

__version__ = "0.1.0"

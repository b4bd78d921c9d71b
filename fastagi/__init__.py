"""fastagi: a personalised IVR for Asterisk, driven by a Twisted FastAGI server."""

__version__ = "0.1.0"

"""The Twisted FastAGI server: protocol, factory, routing, control socket, runner."""

from fastagi.server.factory import STATUS_VARIABLE, FastAGIFactory
from fastagi.server.protocol import FastAGIProtocol
from fastagi.server.router import CallStatus, Handler, PatternRoute, Route, Router

__all__ = [
    "STATUS_VARIABLE",
    "CallStatus",
    "FastAGIFactory",
    "FastAGIProtocol",
    "Handler",
    "PatternRoute",
    "Route",
    "Router",
]

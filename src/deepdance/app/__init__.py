"""The local web app (`deepdance app`): the top layer beside the CLI, thin over the same commands."""

from .server import make_server, serve

__all__ = ["make_server", "serve"]

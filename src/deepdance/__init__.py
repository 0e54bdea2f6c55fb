"""deepdance: learn to dance from a video and make new dance videos."""

__version__ = "0.1.0"

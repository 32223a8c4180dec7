"""tiltak: Norwegian policy documents in, structured measures, actors and commitments out."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tiltak")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

"""The installed version of brainalign (a module of its own, so that any layer may import it)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("brainalign")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

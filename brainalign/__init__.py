"""brainalign: score vision models layer by layer against human brain and behaviour RDMs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("brainalign")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

from .errors import BrainAlignError
from .models import load_model

__all__ = ["BrainAlignError", "__version__", "load_model"]

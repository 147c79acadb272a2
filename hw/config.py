"""The public configuration API: :class:`Config` (:mod:`hw.spec.config`) and the command-line flags
every CLI shares (:mod:`hw.spec.flags`)."""
from .spec.config import Config
from .spec.flags import add_config_arguments, config_from_arguments
from .spec.functions import FUNCTIONS

__all__ = ["Config", "FUNCTIONS", "add_config_arguments", "config_from_arguments"]

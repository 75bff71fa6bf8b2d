"""Errors a person can act on.

Every ``FmtuiError`` carries a message that names the file, flag or directory at fault and says
what to do. The CLI prints it without a traceback and exits with code 2; the TUI shows it in-app.
Anything that is not an ``FmtuiError`` is a bug and keeps its traceback.
"""


class FmtuiError(Exception):
    """Bad input or environment, explained for a person."""


class ConfigError(FmtuiError):
    """A preset file or command-line flag holds something fmtui cannot use."""


class DataError(FmtuiError):
    """The FashionMNIST files are missing, unreadable or malformed."""


class DeviceError(FmtuiError):
    """The requested device does not exist on this machine."""


class RecordError(FmtuiError):
    """A runs directory, run record or checkpoint cannot be written or read."""


class WeightsError(FmtuiError):
    """Pretrained weights are missing, cannot be downloaded, or are damaged."""

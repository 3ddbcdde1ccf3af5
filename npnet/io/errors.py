"""The project's own error types.

Every error a user can cause (a bad file, a wrong shape, a broken download) is an ``NpnetError`` whose
message is one line naming the file or layer and what is wrong. The command-line tools print that line
and exit with status 2; anything else is a bug and keeps its traceback.
"""


class NpnetError(Exception):
    """Base class: a user-facing problem, reported as one line."""


class DataError(NpnetError):
    """A dataset file or folder that cannot be read as GTSRB."""


class CheckpointError(NpnetError):
    """A checkpoint file that is not a valid npnet checkpoint."""


class ImageError(NpnetError):
    """An image file that cannot be decoded."""


class NonFiniteError(NpnetError, FloatingPointError):
    """A NaN or infinity where a finite number is required (a loss, a weight)."""


class NpnetWarning(UserWarning):
    """A notice that costs time, not correctness (a cache that cannot be written): the command-line
    tools print it as one line ``tool: warning: ...``."""

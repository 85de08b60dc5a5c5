"""The error a reader sees as one line: a bad chapter, profile or parameter, a missing model, a GPU too small."""


class ParameterError(ValueError):
    """A bad chapter, profile or parameter: shown to the reader as one line."""

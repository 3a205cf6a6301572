"""The warnings the package raises, in one place (as :mod:`sklearn.exceptions`)."""

__all__ = ["ComponentCollapseWarning", "TrainingInterrupted"]


class ComponentCollapseWarning(UserWarning):
    """Warned when a few mixture components hold almost all the posterior mass."""


class TrainingInterrupted(UserWarning):
    """Warned when fitting stops early on KeyboardInterrupt; the model of the last completed epoch is kept."""

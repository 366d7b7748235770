"""The one exception type for user mistakes.

Anything a person can get wrong (a config key, a genome value, a world name, a run directory)
raises `UserError` with a one-line message naming what is wrong and what is allowed. The CLI turns
it into that line on stderr and exit code 2; everything else is a bug and keeps its traceback.
"""


class UserError(ValueError):
    """A mistake in what the user asked for, explained in one line."""

"""One exception type for user mistakes: the CLI prints one line and exits 2, never a traceback."""


class UserError(ValueError):
    """Bad input from a user: the message names the option or file:line at fault."""

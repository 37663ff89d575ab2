"""One exception type for user mistakes: the CLI prints one line and exits 2, never a traceback."""


class UserError(ValueError):
    """Bad input from a user: the message names the option or file:line at fault."""


class DuplicateId(ValueError):
    """The ledger already holds this id: another writer got there between read and append
    (a lost race, retried; never shown to a user as such)."""

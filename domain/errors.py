"""Errors the user can act on. The CLI shows their message as one line and exits 2."""


class UserError(Exception):
    """Bad input or environment: the message says what is wrong and what to do."""

    exit_code = 2

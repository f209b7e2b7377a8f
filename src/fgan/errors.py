"""The error type for bad user input: the command line prints its message on one line and exits with code 2."""


class UsageError(ValueError):
    """Bad input from the user (a name, a range, a file, an occupied output folder)."""


def require(checks: list[tuple[bool, str]]) -> None:
    """Raise UsageError with the message of the first ``(ok, message)`` pair that is not ok."""
    for ok, message in checks:
        if not ok:
            raise UsageError(message)


def one_line(text: object) -> str:
    """``text`` with every run of whitespace, newlines included, turned into one space: for error messages that
    quote a library's (possibly multi-line) message."""
    return " ".join(str(text).split())

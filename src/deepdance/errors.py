"""The one exception type that means "the user gave us something we cannot use"."""


class UserError(Exception):
    """Bad input: the CLI prints the message as one line on stderr and exits with code 2."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt (every temporary file is removed on the way
    out) but is not one, so Lightning does not swallow it and exit 1 on its own."""

    def __init__(self, signum: int, hint: str = ""):
        super().__init__(signum)
        self.signum, self.hint = signum, hint


_signals: list[int] = []


def interrupt(signum: int) -> None:
    """Record the signal, then raise. Recorded because an exception raised while Python runs a `__del__` or
    a callback is printed and dropped; `check_interrupted` raises it again at the next safe point."""
    _signals.append(signum)
    raise Interrupted(signum)


def check_interrupted() -> None:
    """Raise `Interrupted` again if a signal arrived (training calls this between batches)."""
    if _signals:
        raise Interrupted(_signals[0])


def clear_interrupted() -> None:
    _signals.clear()

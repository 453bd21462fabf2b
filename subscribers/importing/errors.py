"""The two ways a file as a whole can be refused: it cannot be read, or it is too large."""


class ImportFileError(Exception):
    """The file as a whole cannot be read (wrong format, not UTF-8, no header)."""


class ImportLimitExceeded(ImportFileError):
    """The file is larger than an import may be (limits.py); nothing of it is checked or
    written, and the rows read before are not reported either: the one error is the answer."""

    def __init__(self, message: str, *, line: int = 0, cells_read: int = 0) -> None:
        super().__init__(message)
        self.line = line
        # How much of the file had been read when it was refused: the tests' measure of work.
        self.cells_read = cells_read

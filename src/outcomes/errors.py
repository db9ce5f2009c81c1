"""The exception tree of ``outcomes``.

Every error the library raises on purpose derives from :class:`OutcomesError`, and also
from the builtin it most resembles, so ``except ValueError`` keeps working for callers
that do not know this package::

    OutcomesError
    ├── ConfigError            (ValueError)    a setting or argument is malformed
    ├── ValidationError        (ValueError)    input at an edge (file, HTTP body, CLI) is invalid
    │   └── ImportFormatError                  a ledger/ingest file cannot be read at all
    ├── StoreError             (RuntimeError)  the store failed to do what was asked
    │   ├── StoreUnavailableError              cannot connect or open (missing driver, no server)
    │   ├── StoreCorruptError                  the database file is not a healthy database
    │   └── MigrationError                     a schema migration failed or is unknown
    ├── UnsafePathError        (PermissionError) a path is a symlink, dangling, or outside the
    │                                          folder outcomes manages; nothing was written
    └── WriterClosedError      (RuntimeError)  a record was submitted to a closed writer (never
                                               raised from the hot path; see BackgroundWriter)
"""

from __future__ import annotations


class OutcomesError(Exception):
    """Root of every error raised on purpose by ``outcomes``."""


class ConfigError(OutcomesError, ValueError):
    """A configuration value or an explicit argument is malformed."""


class ValidationError(OutcomesError, ValueError):
    """Input at an edge of the system failed validation.

    ``where`` names the place (``"line 12"``, ``"steps[3].count"``) when it is known.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where
        self.reason = message


class ImportFormatError(ValidationError):
    """A file handed to an import command cannot be read at all."""


class UnsafePathError(OutcomesError, PermissionError):
    """A path ``outcomes`` would write or open is unsafe: a symlink it did not expect, a
    dangling symlink, a missing parent folder, or a place outside the folder it manages.
    Nothing was written (see ``docs/security.md``)."""


class StoreError(OutcomesError, RuntimeError):
    """The store could not perform an operation."""


class StoreUnavailableError(StoreError):
    """The store cannot be opened or reached (missing driver, server down, bad URL)."""


class StoreCorruptError(StoreError):
    """The database exists but is not a healthy database; it is never overwritten."""


class MigrationError(StoreError):
    """A schema migration failed, or the database has migrations this version does not know."""


class WriterClosedError(OutcomesError, RuntimeError):
    """An operation needs a running writer but the writer was closed."""


__all__ = [
    "ConfigError",
    "ImportFormatError",
    "MigrationError",
    "OutcomesError",
    "StoreCorruptError",
    "StoreError",
    "StoreUnavailableError",
    "UnsafePathError",
    "ValidationError",
    "WriterClosedError",
]

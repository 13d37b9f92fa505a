"""One exception tree for the whole project, with one table to exit codes and HTTP statuses.

Every failure a user can meet is a :class:`Doi2DataError`; the CLI catches that root, prints a
one-line message and exits with the class's ``exit_code``; the gateway answers with its
``http_status``. Library exceptions (httpx, json, OS errors) are translated at the boundary
into the most specific class here, chained with ``from exc``.

::

    Doi2DataError                       exit 1   HTTP 500
    ├── InvalidIdentifier (ValueError)  exit 2   HTTP 400   not a DOI / handle / URL
    ├── UsageError (ValueError)         exit 2   HTTP 400   bad option values, bad filters
    │   └── VersionNotSupported         exit 2   HTTP 400   --version for a repository without versions
    ├── ResolutionError                 exit 3   HTTP 502   the resolver failed
    │   ├── IdentifierNotFound          exit 4   HTTP 404   the DOI or handle does not exist
    │   └── UnsupportedRepository       exit 5   HTTP 422   no detection layer finds the files
    │       └── NotADataset             exit 5   HTTP 422   a Crossref (article) DOI, not a dataset
    ├── RepositoryError                 exit 6   HTTP 502   the repository API failed or changed shape
    │   ├── RecordNotFound              exit 4   HTTP 404   the repository has no such record
    │   ├── ResponseTooLarge            exit 6   HTTP 502   an API body past its size limit (after decoding)
    │   └── AccessDenied                exit 7   HTTP 403   login / token needed or refused
    ├── NetworkError                    exit 8   HTTP 504   connection, TLS, proxy, timeout
    └── TransferError                   exit 1   HTTP 502   a file could not be fetched
        ├── VerificationError           exit 1   HTTP 502   size or checksum mismatch
        │   └── InflateError            exit 1   HTTP 422   an archive member inflates past its declared size
        ├── LimitExceeded               exit 1   HTTP 413   reading it would pass a configured bound (bombs, slices)
        ├── UnsafePath                  exit 1   HTTP 400   a name that would escape the destination
        ├── InsufficientSpace (OSError) exit 9   HTTP 507   not enough free disk / over --max-total-size
        ├── RestoreTimeout              exit 10  HTTP 503   data still being restored from tape at the deadline
        ├── StateDamaged                exit 11  HTTP 503   DEST/.doi2data/state.sqlite damaged or locked
        └── DownloadIncomplete          exit 1   HTTP 502   some files failed (carries the report)
"""

from __future__ import annotations

from typing import Any


class Doi2DataError(Exception):
    """Root of every error doi2data raises on purpose."""

    exit_code: int = 1
    http_status: int = 500

    def __init__(self, message: str, *, identifier: str | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.identifier = identifier
        self.url = url

    def __str__(self) -> str:
        return self.message


class InvalidIdentifier(Doi2DataError, ValueError):
    exit_code = 2
    http_status = 400


class UsageError(Doi2DataError, ValueError):
    exit_code = 2
    http_status = 400


class VersionNotSupported(UsageError):
    """``--version`` (``version=``) was given, but the repository behind the identifier has no versions
    doi2data can choose (PSI, ESRF, OSF, the generic layers, ...): drop it or pass a version's own DOI."""


class ResolutionError(Doi2DataError):
    exit_code = 3
    http_status = 502


class IdentifierNotFound(ResolutionError, LookupError):
    exit_code = 4
    http_status = 404


class UnsupportedRepository(ResolutionError):
    exit_code = 5
    http_status = 422


class NotADataset(UnsupportedRepository):
    """The DOI is registered with Crossref (or points at a publisher's page): an article, not a dataset."""


class RepositoryError(Doi2DataError):
    exit_code = 6
    http_status = 502


class RecordNotFound(RepositoryError, LookupError):
    exit_code = 4
    http_status = 404


class ResponseTooLarge(RepositoryError):
    """An API response body ran past its limit once decoded (a listing too big, or a compression bomb)."""


class ListingChanged(RepositoryError):
    """A listing printed as it streamed in (``ls --format ndjson|urls|aria2|*sum``) is not what the
    finished listing holds: the lines already written are wrong, and the exit code says so."""


class AccessDenied(RepositoryError, PermissionError):
    exit_code = 7
    http_status = 403


class NetworkError(Doi2DataError, ConnectionError):
    exit_code = 8
    http_status = 504


class TransferError(Doi2DataError):
    exit_code = 1
    http_status = 502


class VerificationError(TransferError):
    """Bytes arrived but their size or a checksum does not match the manifest."""


class InflateError(VerificationError):
    """A compressed member produced more bytes than its header declares (a decompression bomb, or
    a corrupt archive): stopped at the first extra byte."""

    http_status = 422


class LimitExceeded(TransferError):
    """Reading the input would pass a configured bound (inflated bytes, compression ratio, CPU
    seconds, HDF5 chunks touched or bytes fetched): refused before or while reading, never after."""

    http_status = 413


class UnsafePath(TransferError):
    http_status = 400


class InsufficientSpace(TransferError, OSError):
    exit_code = 9
    http_status = 507


class RestoreTimeout(TransferError):
    """Archived (tape) data was still being restored when ``--restore-timeout`` ran out.

    Not a failure of the data: the facility keeps restoring, and the same command run later
    finds it online.
    """

    exit_code = 10
    http_status = 503


class StateDamaged(TransferError):
    """The download state (``DEST/.doi2data/state.sqlite``) cannot be read or written: truncated,
    not a database, or locked by another process. Nothing is trusted from it; ``--rebuild-state``
    sets it aside and the files on disk are checked again by hashing."""

    exit_code = 11
    http_status = 503


class DownloadIncomplete(TransferError):
    """Raised after a download in which some files failed; ``failures`` maps path -> reason."""

    def __init__(self, message: str, failures: dict[str, str], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.failures = failures


#: Exit codes, documented in the README (kept here so the table and the classes cannot drift).
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "some files failed to download or verify (each is named in the report)",
    2: "bad input: not a DOI/handle/URL, or bad option values",
    3: "the identifier could not be resolved (resolver failure)",
    4: "the DOI, handle or record does not exist",
    5: "no adapter supports the repository behind the identifier",
    6: "the repository API failed or answered in an unexpected shape",
    7: "access denied: login or token required",
    8: "network error: connection, TLS, proxy or timeout",
    9: "not enough free disk space",
    10: "archived data still being restored from tape when --restore-timeout ran out (re-run later)",
    11: "the download state in DEST/.doi2data is damaged or locked (re-run with --rebuild-state)",
    130: "interrupted",
}

__all__ = [
    "EXIT_CODES",
    "AccessDenied",
    "Doi2DataError",
    "DownloadIncomplete",
    "IdentifierNotFound",
    "InflateError",
    "InsufficientSpace",
    "InvalidIdentifier",
    "LimitExceeded",
    "NetworkError",
    "NotADataset",
    "RecordNotFound",
    "RepositoryError",
    "ResolutionError",
    "ResponseTooLarge",
    "RestoreTimeout",
    "StateDamaged",
    "TransferError",
    "UnsafePath",
    "UnsupportedRepository",
    "UsageError",
    "VerificationError",
    "VersionNotSupported",
]

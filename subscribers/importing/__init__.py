"""Import of mailing lists from CSV or Excel: validate everything, then write everything.

Three steps, one module each, called in this order by `services.subscribers_import`:
`files` reads the file into rows of text, `rows` checks the header and every row (nothing
is written if anything is wrong, and the report names every bad row), `applying` plans and
writes the rows in one transaction. `report` is what the person who ran it gets back.

Rules an operator can rely on (also in README.md):
- An imported subscriber is `active` with legal basis `public_task`: the lists we import are
  the regional library's own distribution lists, kept as part of its statutory task towards
  the county's libraries. The import never changes the status or legal basis of someone who
  already exists.
- Existing subscribers (matched case-insensitively by email) change only with `update=True`;
  empty cells never clear a stored value; segments are only ever added.
- Unsubscribed, bounced or erased subscribers and suppressed addresses are skipped with the
  reason, with or without `update`: only the person can bring them back, by opting in again.
- The address and copies columns belong to the organisation when the row names one, and are
  the person's own print address otherwise.
- A file over a limit (`limits.py`: bytes, rows, columns, an XLSX's unpacked size) is refused
  with one error naming the limit, before any row is checked. The admin page runs the same
  service in a Celery task (`jobs.py`) and shows its progress, then the same report.
"""

from .errors import ImportFileError, ImportLimitExceeded
from .report import ImportReport, RowError, SkippedRow
from .services import subscribers_import

__all__ = [
    "ImportFileError",
    "ImportLimitExceeded",
    "ImportReport",
    "RowError",
    "SkippedRow",
    "subscribers_import",
]

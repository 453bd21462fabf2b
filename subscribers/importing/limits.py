"""How much an import file may make the server do, and the one error for going over it.

An import file comes from outside, so nothing it declares about itself is believed: not its
size (the bytes are counted), not the dimension an XLSX sheet claims (only the cells that are
there are read), not the uncompressed size of an XLSX's parts beyond what the archive itself
will yield. Every limit is a setting (README, "Security"); going over one stops the import at
once with a message that names the limit, before anything is checked or written.
"""

from dataclasses import dataclass

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from .errors import ImportLimitExceeded


@dataclass(frozen=True)
class ImportLimits:
    max_bytes: int
    max_rows: int
    max_columns: int
    max_unpacked_bytes: int

    @classmethod
    def from_settings(cls) -> "ImportLimits":
        return cls(
            max_bytes=settings.IMPORT_MAX_BYTES,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_columns=settings.IMPORT_MAX_COLUMNS,
            max_unpacked_bytes=settings.IMPORT_MAX_UNPACKED_BYTES,
        )

    @property
    def max_cells(self) -> int:
        """The most cells a file within the row and column limits can make the reader
        produce (the header row included). Counting them bounds the work on rows that are
        blank or padded, which the row and column limits alone do not see."""
        return (self.max_rows + 1) * self.max_columns

    def size_check(self, *, size: int) -> None:
        """The one check of a file's size, for the command, the admin upload and the service."""
        if size > self.max_bytes:
            raise ImportLimitExceeded(
                _("filen är %(size)s, större än gränsen %(limit)s (IMPORT_MAX_BYTES)")
                % {"size": filesizeformat(size), "limit": filesizeformat(self.max_bytes)}
            )

    def unpacked_check(self, *, size: int) -> None:
        if size > self.max_unpacked_bytes:
            raise ImportLimitExceeded(
                _(
                    "Excel-arbetsboken packas upp till %(size)s, mer än gränsen %(limit)s "
                    "(IMPORT_MAX_UNPACKED_BYTES)"
                )
                % {"size": filesizeformat(size), "limit": filesizeformat(self.max_unpacked_bytes)}
            )

    def rows_exceeded(self, *, line: int, cells_read: int) -> ImportLimitExceeded:
        return ImportLimitExceeded(
            _("filen har fler än %(limit)d rader (IMPORT_MAX_ROWS); rad %(line)d är för mycket")
            % {"limit": self.max_rows, "line": line},
            line=line,
            cells_read=cells_read,
        )

    def columns_exceeded(self, *, line: int, column: int, cells_read: int) -> ImportLimitExceeded:
        return ImportLimitExceeded(
            _(
                "rad %(line)d har ett värde i kolumn %(column)d, efter gränsen på "
                "%(limit)d kolumner (IMPORT_MAX_COLUMNS)"
            )
            % {"line": line, "column": column, "limit": self.max_columns},
            line=line,
            cells_read=cells_read,
        )

    def cells_exceeded(self, *, line: int, cells_read: int) -> ImportLimitExceeded:
        return ImportLimitExceeded(
            _(
                "filen har fler celler (även tomma) än %(rows)d rader × %(columns)d kolumner "
                "(IMPORT_MAX_ROWS × IMPORT_MAX_COLUMNS); avbrutet på rad %(line)d"
            )
            % {
                "rows": self.max_rows,
                "columns": self.max_columns,
                "line": line,
            },
            line=line,
            cells_read=cells_read,
        )

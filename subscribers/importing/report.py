"""What an import tells the person who ran it: the errors that stopped it, or what it did.

The command and the admin page print the same lines, so an operator can compare the two.
"""

from dataclasses import asdict, dataclass, field

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class RowError:
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        # A fixed, greppable shape like a compiler's, the same in every language.
        return f"line {self.line}: {self.column}: {self.reason}"


@dataclass(frozen=True)
class SkippedRow:
    line: int
    email: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.email}: {self.reason}"


@dataclass
class ImportReport:
    errors: list[RowError] = field(default_factory=list)
    skipped: list[SkippedRow] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organisations_created: int = 0
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run

    def summary(self) -> str:
        return _(
            "skapade: %(created)d, uppdaterade: %(updated)d, oförändrade: %(unchanged)d, "
            "hoppade över: %(skipped)d, nya organisationer: %(organisations)d"
        ) % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": len(self.skipped),
            "organisations": self.organisations_created,
        }

    def as_json(self) -> dict:
        """The report as stored with an admin import (ImportJob.report)."""
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict) -> "ImportReport":
        return cls(
            **{
                **stored,
                "errors": [RowError(**error) for error in stored["errors"]],
                "skipped": [SkippedRow(**skipped) for skipped in stored["skipped"]],
            }
        )

    def lines(self) -> list[str]:
        """The report as text lines, shared by the command and the admin page."""
        if self.errors:
            return [
                _("Importen avbröts: %(count)d fel, ingenting har sparats.")
                % {"count": len(self.errors)},
                *[str(error) for error in self.errors],
            ]
        heading = (
            _("Provkörning: ingenting har sparats.") if self.dry_run else _("Importen är klar.")
        )
        return [heading, self.summary(), *[str(skipped) for skipped in self.skipped]]

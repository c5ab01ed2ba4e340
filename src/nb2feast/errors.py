"""Errors a user can cause: they carry a position and a fix, never a traceback."""

from __future__ import annotations

from nb2feast.model import CellRef


class UserError(Exception):
    """Bad input: unreadable notebook, bad flag, untraceable input, ... (exit code 2)."""

    def __init__(
        self,
        message: str,
        *,
        where: CellRef | str | None = None,
        line: int | None = None,
        col: int | None = None,
        fix: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.line = line
        self.col = col
        self.fix = fix

    def __str__(self) -> str:
        if isinstance(self.where, CellRef):
            prefix = self.where.describe(self.line, self.col) + ": "
        elif self.where:
            prefix = f"{self.where}: "
        else:
            prefix = ""
        text = prefix + self.message
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text

    def to_dict(self) -> dict:
        out: dict = {"message": self.message, "fix": self.fix, "line": self.line, "col": self.col}
        if isinstance(self.where, CellRef):
            out |= {
                "notebook": self.where.notebook,
                "cell_index": self.where.index,
                "cell_id": self.where.id,
            }
        elif self.where:
            out["notebook"] = self.where
        return out

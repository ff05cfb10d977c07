"""What an ingest returns: the outcome of one file or batch, and the whole-file rejection."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FileResult:
    """What happened to one input file (or one API batch)."""

    source: str
    stream: str
    status: str  # ingested | rejected
    read: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    batch_seq: int | None = None
    message: str | None = None
    reasons: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.status == "rejected":
            return f"REJECTED {self.source}: {self.message}"
        text = (
            f"{self.source} [{self.stream}] read={self.read} stored={self.stored} "
            f"duplicate={self.duplicates} quarantined={self.quarantined}"
        )
        if self.reasons:
            text += " (" + ", ".join(f"{k}: {v}" for k, v in sorted(self.reasons.items())) + ")"
        return text


class RejectedFile(Exception):
    """The whole file is unreadable; nothing of it is stored."""

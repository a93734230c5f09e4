"""What an upload run did, file by file, and the summary it ends with."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from dicom_api.uploader.client import Outcome
from dicom_api.uploader.sources import Item


@dataclass
class Report:
    stored: int = 0
    already: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (label, the server's reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (label, the network error)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (label, why)
    to_send: int = 0
    done: int = 0  # of to_send, answered
    stopped: str = ""  # why the run stopped before the end: "interrupted", or the server went away

    def sort(self, checked: list[tuple[Item, str]], have: set[str]) -> list[tuple[Item, str]]:
        """What to send: one item per checksum the server does not have; the rest count as already there."""
        to_send: list[tuple[Item, str]] = []
        seen = set(have)
        for item, sha256 in checked:
            if sha256 in seen:
                self.already += 1
            else:
                seen.add(sha256)
                to_send.append((item, sha256))
        self.to_send = len(to_send)
        return to_send

    def add(self, item: Item, outcome: Outcome) -> None:
        self.done += 1
        if outcome.kind == "stored":
            self.stored += 1
        elif outcome.kind == "already":
            self.already += 1
        elif outcome.kind == "refused":
            self.refused.append((item.label, outcome.detail))
        else:
            self.failed.append((item.label, outcome.detail))

    @property
    def all_in(self) -> bool:
        return not (self.refused or self.failed or self.stopped)

    def print(self, out: TextIO | None = None) -> None:
        out = out or sys.stdout
        for label, reason in self.refused:
            print(f"refused  {label}: {reason}", file=out)
        for label, error in self.failed:
            print(f"failed   {label}: {error}", file=out)
        print(
            f"{self.stored} stored, {self.already} already there, {len(self.refused)} refused, "
            f"{len(self.skipped)} skipped (not DICOM, DICOMDIR), {len(self.failed)} failed",
            file=out,
        )
        if self.stopped:
            left = f"{self.to_send - self.done} file(s) not sent" if self.to_send else "nothing sent yet"
            print(f"{self.stopped}: {left}; run the same command again to send the rest", file=out)

"""The uploader's progress: a live bar on a terminal (files, bytes, rate, time left), plain lines otherwise."""

from __future__ import annotations

import threading
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.live = out.isatty()
        self._bar: RichProgress | None = None
        self._files: TaskID | None = None
        self._lock = threading.Lock()
        self._total = 0
        self._count = 0

    def __enter__(self) -> Progress:
        if self.live:
            self._bar = RichProgress(
                TextColumn("{task.description:<8}"),
                BarColumn(),
                TextColumn("{task.fields[done]}/{task.fields[files]} files"),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=Console(file=self.out),
            )
            self._bar.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, stage: str, files: int, size: int) -> None:
        """A new stage of ``files`` files, ``size`` bytes in all."""
        with self._lock:
            self._total, self._count = files, 0
            if self._bar is not None:
                self._files = self._bar.add_task(stage, total=size, done=0, files=files)
            else:
                print(f"{stage} {files} file(s), {size / 1e6:.1f} MB", file=self.out, flush=True)

    def advance(self, size: int, line: str = "", *, loud: bool = False) -> None:
        """One file done, of ``size`` bytes; ``line`` says what became of it (always shown when ``loud``)."""
        with self._lock:
            self._count += 1
            if self._bar is not None and self._files is not None:
                self._bar.update(self._files, advance=size, done=self._count)
                if loud and line:
                    self._bar.console.print(line, markup=False, highlight=False)
            elif line:
                print(f"[{self._count}/{self._total}] {line}", file=self.out, flush=True)

"""``modelmart run``: the loop that keeps one machine's dashboard minutes behind its events.

Each cycle, in order:

1. promote the spool (what loggers and the collector made durable) into landing batches;
2. ingest the files that appeared in the watched folders (``--watch``; a file is
   taken once it has not changed for ``settle_seconds``, and remembered by path,
   size and modification time in ``$MODELMART_HOME/run/watched.json``);
3. compact a stream's small landing files when it has more than the threshold;
4. build (incremental; skipped in well under a second when nothing is new) and publish,
   each build a ``modelmart build`` process of its own;
5. after a publish, run the post-publish hooks: the ``--on-publish`` command (with
   ``MODELMART_HOME`` and ``MODELMART_PUBLISHED_BATCH_SEQ`` in its environment), the
   callables given to ``RunLoop(post_publish=...)``, and every entry point of the group
   ``modelmart.post_publish`` (a function taking the ``BuildResult``).

It prints one line per cycle. A failed build leaves the last good snapshot
published and is retried next cycle; a failing step or hook is reported in the
line and does not stop the loop. SIGTERM or SIGINT: the cycle in progress
finishes, then the loop exits 0.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path

from modelmart.build import BuildResult, read_state
from modelmart.config import UserError, get_paths

Hook = Callable[[object], None]


@dataclass
class Cycle:
    number: int
    promoted: int = 0
    stored: int = 0
    quarantined: int = 0
    files: int = 0
    compacted: int = 0
    build: str = "-"
    hooks: str = "-"
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step

    def line(self) -> str:
        text = (
            f"cycle {self.number}: spool {self.promoted} events ({self.stored} stored, "
            f"{self.quarantined} quarantined); files {self.files}; compacted {self.compacted} "
            f"files; build {self.build}; hooks {self.hooks}; {self.seconds:.1f}s"
        )
        if self.steps:
            text += " [" + ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items()) + "]"
        if self.errors:
            text += " | ERRORS: " + " | ".join(self.errors)
        return text


class RunLoop:
    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        watch: Sequence[str | os.PathLike[str]] = (),
        interval: float = 10.0,
        settle_seconds: float = 2.0,
        on_publish: str | None = None,
        post_publish: Sequence[Hook] = (),
        log: Callable[[str], None] = lambda line: print(line, flush=True),
    ) -> None:
        self.paths = get_paths(home)
        self.watch = [Path(w) for w in watch]
        for folder in self.watch:
            if not folder.is_dir():
                raise UserError(f"{folder}: watched folder does not exist")
        self.interval, self.settle_seconds = interval, settle_seconds
        self.on_publish = on_publish
        self.hooks = list(post_publish) + [
            ep.load() for ep in entry_points(group="modelmart.post_publish")
        ]
        self.log = log
        self.stop_event = threading.Event()
        self.cycles = 0

    # ------------------------------------------------------------ steps

    def _seen_file(self) -> Path:
        return self.paths.home / "run" / "watched.json"

    def _ingest_watched(self, cycle: Cycle) -> None:
        from modelmart.ingest import discover, ingest_file

        if not self.watch:
            return
        state_file = self._seen_file()
        seen = json.loads(state_file.read_text()) if state_file.exists() else {}
        now = time.time()
        for path, stream in discover(self.watch, None):
            stat = path.stat()
            key, mark = str(path.resolve()), f"{stat.st_size}:{stat.st_mtime_ns}"
            if seen.get(key) == mark or now - stat.st_mtime < self.settle_seconds:
                continue
            if stream is None:
                cycle.errors.append(f"{path}: cannot tell its stream (put it in a stream folder)")
            else:
                result = ingest_file(path, stream, self.paths.home)
                cycle.files += 1
                if result.status == "rejected":
                    cycle.errors.append(result.summary())
            seen[key] = mark
            state_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = state_file.with_suffix(".tmp")
            tmp.write_text(json.dumps(seen))
            os.replace(tmp, state_file)

    def _run_hooks(self, result: object, cycle: Cycle) -> None:
        ran, failed = 0, 0
        if self.on_publish:
            env = {
                **os.environ,
                "MODELMART_HOME": str(self.paths.home),
                "MODELMART_PUBLISHED_BATCH_SEQ": str(getattr(result, "max_batch_seq", "")),
            }
            done = subprocess.run(shlex.split(self.on_publish), env=env, check=False)
            ran += 1
            if done.returncode:
                failed += 1
                cycle.errors.append(f"--on-publish exited {done.returncode}")
        for hook in self.hooks:
            ran += 1
            try:
                hook(result)
            except Exception as exc:
                failed += 1
                cycle.errors.append(f"hook {getattr(hook, '__name__', hook)}: {exc}")
        cycle.hooks = f"{ran - failed}/{ran} ok" if ran else "none"

    def cycle(self) -> Cycle:
        from modelmart.compact import auto_compact
        from modelmart.spool import promote

        self.cycles += 1
        cycle = Cycle(self.cycles)
        started = time.monotonic()
        steps = [
            ("promote", lambda: self._promote(cycle, promote)),
            ("ingest", lambda: self._ingest_watched(cycle)),
            ("compact", lambda: self._compact(cycle, auto_compact)),
        ]
        for name, step in steps:
            step_started = time.monotonic()
            try:
                step()
            except Exception as exc:
                cycle.errors.append(f"{name}: {exc}")
            cycle.steps[name] = time.monotonic() - step_started
        try:
            result = self._build()
            cycle.steps["build"] = result.seconds
            if result.success and not result.up_to_date:
                last = read_state(self.paths).get("last_build") or {}
                if "seconds" in last and "publish_seconds" in last:
                    cycle.steps["dbt"] = last["seconds"]
                    cycle.steps["publish"] = last["publish_seconds"]
            if result.up_to_date:
                cycle.build = "up to date"
            elif result.success:
                kind = "full" if result.full_refresh else "incremental"
                cycle.build = (
                    f"ok ({kind}, batches ≤ {result.max_batch_seq}, {result.seconds:.1f}s)"
                )
                self._run_hooks(result, cycle)
            else:
                cycle.build = "FAILED (last good snapshot stays published; retried next cycle)"
                cycle.errors.extend(result.failures[:3])
        except Exception as exc:
            cycle.build = "FAILED"
            cycle.errors.append(f"build: {exc}")
        cycle.seconds = time.monotonic() - started
        self.log(cycle.line())
        return cycle

    def _build(self) -> BuildResult:
        """``modelmart build`` in a process of its own, every cycle.

        dbt keeps global state between in-process invocations: in one long-lived
        process a later build was seen to publish a newer batch number over the
        older batch filter. A fresh process per build is what cron would run too.
        """
        started = time.monotonic()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "modelmart.cli",
                "--home",
                str(self.paths.home),
                "build",
                "--quiet",
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "MODELMART_QUIET_DBT": "1"},
        )
        seconds = time.monotonic() - started
        state = read_state(self.paths)
        last = state.get("last_build") or {}
        output = (done.stdout + done.stderr).strip()
        if done.returncode != 0:
            failures = last.get("failures") or [
                output.splitlines()[-1] if output else "build failed"
            ]
            return BuildResult(False, last.get("max_batch_seq", 0), False, seconds, failures)
        return BuildResult(
            True,
            state.get("published_batch_seq", 0),
            bool(last.get("full_refresh")),
            seconds,
            [],
            self.paths.warehouse,
            up_to_date="up to date:" in output,
        )

    def _promote(self, cycle: Cycle, promote: Callable) -> None:
        for r in promote(self.paths.home):
            cycle.promoted += r.events
            cycle.stored += r.stored
            cycle.quarantined += r.quarantined

    def _compact(self, cycle: Cycle, auto_compact: Callable) -> None:
        cycle.compacted = sum(r.merged_files for r in auto_compact(self.paths.home))

    # ------------------------------------------------------------ loop

    def run(self, *, once: bool = False, max_cycles: int | None = None) -> None:
        os.environ.setdefault("MODELMART_QUIET_DBT", "1")
        while not self.stop_event.is_set():
            started = time.monotonic()
            self.cycle()
            if once or (max_cycles is not None and self.cycles >= max_cycles):
                return
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))

    def run_until_signal(self, *, once: bool = False) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        self.log(
            f"run: every {self.interval:g}s on {self.paths.home}"
            + (f", watching {', '.join(map(str, self.watch))}" if self.watch else "")
        )
        self.run(once=once)
        self.log(f"run: stopped after {self.cycles} cycle(s)")

"""Named checkpoints where tests can stop or kill the run, to prove a crash is harmless.

`FANPIN_KILL_AT=<checkpoint>` makes the process SIGKILL itself when it
reaches that checkpoint: no cleanup handler runs, exactly like `kill -9` or a
power cut. `FANPIN_PAUSE_AT=<checkpoint>=<seconds>` makes it wait there (to
hold the output lock while a second run starts). Unset (always, in
production), a checkpoint does nothing.
"""

from __future__ import annotations

import os
import signal
import time

KILL_ENV = "FANPIN_KILL_AT"
PAUSE_ENV = "FANPIN_PAUSE_AT"


def checkpoint(name: str) -> None:
    """Die or wait here, now, if the environment asks for it."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    where, _, seconds = os.environ.get(PAUSE_ENV, "").partition("=")
    if where == name and seconds:
        time.sleep(float(seconds))

"""Named checkpoints where tests can kill the run, to prove a crash is harmless.

`FANPIN_KILL_AT=<checkpoint>` makes the process SIGKILL itself when it
reaches that checkpoint: no cleanup handler runs, exactly like `kill -9` or a
power cut. Unset (always, in production), a checkpoint does nothing.
"""

from __future__ import annotations

import os
import signal

KILL_ENV = "FANPIN_KILL_AT"


def checkpoint(name: str) -> None:
    """Die here, now, if the environment asks for it."""
    if os.environ.get(KILL_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)

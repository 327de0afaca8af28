"""The first line every benchmark log starts with: date, machine, load.

Importable from any script in this directory (Python puts the script's
directory on `sys.path`).
"""

import datetime
import os
import platform


def print_run_header():
    """Prints the UTC date, the machine and the load average at start."""
    started = datetime.datetime.now(datetime.timezone.utc)
    print(
        f"date: {started:%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} CPUs; load average at start: "
        f"{'/'.join(f'{x:.1f}' for x in os.getloadavg())}",
        flush=True,
    )

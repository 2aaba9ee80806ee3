"""Start-up time of the command line, as a ratio to ``python -c "import geopandas"``.

Run: ``python benchmarks/startup.py [--repeat 7]``. Prints the median wall-clock time of

* ``python -c "import geopandas"`` (the yardstick, measured in the same run),
* ``parkplan --help``,
* ``parkplan tasks list`` on a fresh demo workspace,

and each command's ratio to the yardstick. The target for ``--help`` is at most 0.2: a user
who asks for help should not wait for the geospatial stack to load.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: How the console script ``parkplan`` starts, without depending on where it is installed.
PARKPLAN = [sys.executable, "-c", "from parkplan.cli import app; app()"]
TARGET_HELP = 0.2


def median_seconds(cmd: list[str], repeat: int) -> float:
    """Return the median wall-clock time of running ``cmd`` ``repeat`` times."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = str(Path(tmp) / "demo.gpkg")
        subprocess.run([*PARKPLAN, "init", "--demo", demo], check=True, capture_output=True)
        # Warm the file cache once so that no command pays for the first read of the disk.
        median_seconds([sys.executable, "-c", "import geopandas"], 1)
        yardstick = median_seconds([sys.executable, "-c", "import geopandas"], args.repeat)
        runs = {
            "parkplan --help": median_seconds([*PARKPLAN, "--help"], args.repeat),
            "parkplan tasks list": median_seconds(
                [*PARKPLAN, "tasks", "list", "-w", demo], args.repeat
            ),
        }
    print(f"python -c 'import geopandas'  {yardstick:6.3f} s  1.00")
    for name, seconds in runs.items():
        print(f"{name:<29} {seconds:6.3f} s  {seconds / yardstick:4.2f}")
    ratio = runs["parkplan --help"] / yardstick
    verdict = "meets" if ratio <= TARGET_HELP else "misses"
    print(f"--help at {ratio:.2f} of import geopandas {verdict} the target of {TARGET_HELP}")


if __name__ == "__main__":
    main()

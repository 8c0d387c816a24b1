"""`dialer` as the chaos world runs it: `python -m dialer.chaos.engine_main run -c FILE`.

The only difference from `dialer run` is the compliance clock, set to the demo's hour
(20:30 in New York) so that the world's New York numbers are inside their calling hours
whatever the time of day the suite runs. Nothing else is changed.
"""

from __future__ import annotations

import functools
import sys

from dialer import app
from dialer.cli import main
from dialer.demo.run import demo_skew


def run() -> int:
    app.AppHooks = functools.partial(app.AppHooks,  # type: ignore[misc]
                                     compliance_skew=demo_skew())
    return main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(run())

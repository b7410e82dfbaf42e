"""Arms a fault point in a command the fault tests start (``tests/resilience/test_faults.py``).

On ``PYTHONPATH``, Python imports this module at start-up, in the command and in the supervised run it
starts; ``FAULT_POINT_FOR_TESTS=after_read:kill`` arms that point. Production code has no setting for it.
"""

import os

if os.environ.get("FAULT_POINT_FOR_TESTS"):
    from cityimage import faults

    faults.arm(os.environ["FAULT_POINT_FOR_TESTS"])

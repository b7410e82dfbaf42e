"""Sample inbox: seeded, deterministic platform exports and the truth they encode.

``write_sample_inbox(root, weeks, seed)`` writes the files; ``SampleTruth`` says what is in them.
"""

from cityimage.sample.generator import DEFAULT_SEED, build_sample, default_weeks, write_sample_inbox
from cityimage.sample.truth import SampleTruth

__all__ = ["DEFAULT_SEED", "SampleTruth", "build_sample", "default_weeks", "write_sample_inbox"]

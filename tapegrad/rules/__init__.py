"""VJP rules, one file per family of primitives. Importing this package registers them all.

Every rule is written with tapegrad ops (``tnp`` functions and operators on
tracers), so a backward pass run while an outer level is live is recorded
there: higher-order derivatives come for free. Rules never undo broadcasting;
the backward sweep does that in one place.
"""
from tapegrad.rules import (  # noqa: F401  (imported for their registrations)
    activations,
    arithmetic,
    conv,
    elementwise,
    indexing,
    linalg,
    nondiff,
    padding,
    reductions,
    shape,
)

"""The tape and tracing core: tracers, levels, primitives, the backward sweep.

Nothing here knows any particular primitive; the rule families in
``tapegrad.rules`` register theirs through :mod:`tapegrad.core.primitive`.
"""

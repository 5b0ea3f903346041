"""Read models built from the log. One module per read model, each with ``apply(envelopes)`` and ``reset()``.

Projections speak to their stores through small ports (``projections.ports``); infra supplies the drivers.
"""

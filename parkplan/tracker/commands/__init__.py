"""The tracker's changes, one module per aggregate, each through a repository.

Every command reads the record in a write transaction, checks the user's permission
(:func:`parkplan.tracker.access.check_write`), the version the caller read, the new
record and its references, then writes with ``UPDATE … WHERE version = :read`` and
appends a journal entry, all in one transaction: a refused change writes nothing.
"""

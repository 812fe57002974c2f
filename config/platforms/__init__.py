"""The chat platforms: one module each (its bot settings, user-id grammar, token rule and
which of its keys apply without reconnecting), listed in ``registry``."""

"""The one exception type users see.

Every error a user can cause (a bad path, an unknown model, mismatched stimulus ids, a corrupt
file, missing weights offline) raises :class:`BrainAlignError` with a message that names the
thing and the fix. The CLI prints the message without a traceback and exits with status 2.
"""


class BrainAlignError(ValueError):
    """A problem the user can fix; the message says what and how.

    A ``ValueError`` too, so pure-math callers can catch bad arguments the usual way.
    """

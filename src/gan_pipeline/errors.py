"""Bad input, told apart from bugs.

A stage reports an ``InputError`` (bad params, files, data, mirrors or tracking store) in one
line that names the problem (``cli.run``); any other exception is a bug and keeps its
traceback.
"""


class InputError(ValueError):
    """What a stage was given cannot be used; the message says what and why."""

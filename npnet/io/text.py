"""Text from files (a file name, a class name, a layer name) shown to a person: never obeyed."""


def escaped(text, keep=""):
    """``text`` with every unprintable character (ESC, BEL, newline, a direction override, ...)
    written as its Python escape (``\\x1b``), except those in ``keep``."""
    return "".join(c if c.isprintable() or c in keep else repr(c)[1:-1] for c in str(text))

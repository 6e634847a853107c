import re

_PART = re.compile(r"(\d+)\s*([smhdw])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds(text: str) -> int:
    """``"1h30m"`` → 5400. The schema pattern has already checked the form."""
    return sum(int(n) * _UNIT[u] for n, u in _PART.findall(text))


def human(secs: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return "%d%s" % (secs // size, unit)
    return "%ds" % secs

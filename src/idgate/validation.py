"""Turn pydantic errors into the one-line messages users see."""
import difflib
import typing
from typing import Any, Iterable, List, Optional, Sequence, Tuple, Type

from pydantic import BaseModel, ValidationError


def format_loc(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += "[%d]" % part
        else:
            out += ("." if out else "") + str(part)
    return out


def data_loc(loc: Sequence[Any], data: Any, missing: bool = False) -> Tuple[Any, ...]:
    """Keep only the parts of a pydantic loc that exist in the data.

    Unions add type tags such as ``str`` or ``list[str]`` to the loc; they
    are not keys the user wrote. A ``missing`` error names the absent key.
    """
    kept: List[Any] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            kept.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            kept.append(part)
            node = node[part]
        elif missing and isinstance(node, dict) and part == loc[-1]:
            kept.append(part)
    return tuple(kept)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def message_for(error: dict, allowed_keys: Iterable[str] = ()) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "").replace("'", "").replace(" or ", ", ")
        return "%s is not one of %s" % (_short(value), expected)
    if kind == "extra_forbidden":
        return "unknown key" + _suggest(error, allowed_keys)
    if kind == "missing":
        return "required key is missing"
    if kind == "string_pattern_mismatch" and "[smhdw]" in str(ctx.get("pattern", "")):
        return "%s is not a duration (write 30s, 15m, 4h, 1d, 1h30m)" % _short(value)
    if kind == "string_pattern_mismatch":
        return "%s does not have the expected form (%s)" % (_short(value), ctx.get("pattern", ""))
    msg = error.get("msg", "invalid value")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if value is not None and not isinstance(value, (dict, list)) and "input" not in msg:
        msg = "%s: %s" % (_short(value), msg[0].lower() + msg[1:] if msg else msg)
    return msg


def _suggest(error: dict, allowed_keys: Iterable[str]) -> str:
    loc = error.get("loc") or ()
    if not loc or not allowed_keys:
        return ""
    close = difflib.get_close_matches(str(loc[-1]), list(allowed_keys), n=1)
    return " (did you mean %r?)" % close[0] if close else ""


def keys_at(model: Optional[Type[BaseModel]], loc: Sequence[Any]) -> List[str]:
    """The keys the model accepts in the mapping at ``loc`` (list positions
    skipped), or [] when ``loc`` does not lead to a model."""
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        model = _model_in(field.annotation) if field is not None else None
    return sorted(model.model_fields) if model is not None else []


def _model_in(annotation: Any) -> Optional[Type[BaseModel]]:
    # unwrap Optional[...], List[...], Annotated[...] down to a model class
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def first_error(err: ValidationError, data: Any,
                model: Optional[Type[BaseModel]] = None) -> Tuple[Tuple[Any, ...], str]:
    """The first error as (loc within the data, message). With ``model``, an
    unknown key suggests the closest key the model accepts there."""
    errors = err.errors(include_url=False)
    # a misspelt key shows up twice: as unknown, and as the required key it
    # was meant to be; the unknown one is what the user has to fix
    extra = [e for e in errors if e["type"] == "extra_forbidden"]
    if extra:
        errors = extra
    best: Optional[dict] = None
    for e in errors:
        # union members each report; prefer the most specific (longest) loc
        if best is None or len(e["loc"]) > len(best["loc"]) and e["loc"][:1] == best["loc"][:1]:
            best = e
        if best is not None and e["loc"][:1] != best["loc"][:1]:
            break
    assert best is not None
    allowed = keys_at(model, best["loc"][:-1]) if best["type"] == "extra_forbidden" else []
    return data_loc(best["loc"], data, best["type"] == "missing"), message_for(best, allowed)


def one_line(err: ValidationError, data: Any) -> str:
    loc, msg = first_error(err, data)
    return "%s: %s" % (format_loc(loc), msg) if loc else msg

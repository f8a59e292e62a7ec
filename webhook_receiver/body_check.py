"""Is a body a notification that Python and PostgreSQL's jsonb read back the same way?

The inbox stores the body as jsonb and a worker reads jsonb's text with db/json_codec.py
(orjson, or `json` for long digit runs). A body both accept but read differently poisons
the apply, so the receiver refuses it with 400 while Cloudinary can still be told:

- Numbers. jsonb keeps a number exactly and prints it in full: `1e5000` comes back as a
  5,001-digit integer that Python will not read (sys.int_max_str_digits, 4,300), where
  Python itself had read `1e5000` as inf; `1e-400` comes back as 400 zeros after the
  point, and a 9-byte literal can print as 16 kB. So a number is zero or has a magnitude
  in [1e-300, 1e300) (inside a float's finite, normal range, so Python's float agrees
  with it), and prints as at most 400 digits. NaN and Infinity are not JSON at all.
- Strings and keys. jsonb refuses `\\u0000` and lone surrogates (`\\ud800`), which
  Python reads without complaint (orjson refuses the surrogates too).
- Nesting. Python's parser recurses (the worker's may stop sooner than ours, at a depth
  that depends on its stack), orjson stops at 1,024 levels and jsonb's limit depends on
  the server's stack: deeper than 64 levels is refused. A notification nests about 4.
- Duplicate keys are accepted: `json`, orjson and jsonb all keep the last value, so every
  reader sees the same object (jsonb stores one value per key). The values they replace
  are still held to the rules above where jsonb reads them too: numbers and escapes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 64
# |x| < 10**MAX_EXPONENT; a float's largest finite value is 1.8e308, its smallest normal
# one 2.2e-308: this bound keeps every accepted number well inside both.
MAX_EXPONENT = 300
# digits jsonb prints (before and after the point); 300 + a float's 17 significant digits
# fit, and the worker's text stays at most ~1.5x what arrived
MAX_PRINTED_DIGITS = 400

# one escape sequence: \uXXXX (group 1) or any other escaped character
_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|.)", re.DOTALL)
_LONE_SURROGATE = "a string holds a lone surrogate, which jsonb cannot store"


class BodyRefused(ValueError):
    """Why a signed body is not a notification we can store (a 400); the message is safe
    to send back: it names the rule, never the content."""


@dataclass(frozen=True)
class Notification:
    text: str
    notification_type: str


def parse_notification(raw: bytes) -> Notification:
    """The body as text and its notification_type, or BodyRefused saying why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused("the body is not UTF-8") from None
    try:
        body: Any = _DECODER.decode(text)
    except BodyRefused:
        raise
    except RecursionError:
        raise BodyRefused(f"JSON nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:
        raise BodyRefused("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BodyRefused("the body is not a JSON object")
    notification_type = body.get("notification_type")
    if not isinstance(notification_type, str) or not notification_type:
        raise BodyRefused("notification_type is missing or not a non-empty string")
    # A string can hold \u0000 or a surrogate only through an escape (strict UTF-8 and
    # the parser refuse them raw). The escapes are read from the text, not the parsed
    # value: jsonb refuses a body for a value a later duplicate key replaced, too.
    if "\\u" in text:
        _check_escapes(text)
    # Nesting deeper than MAX_DEPTH needs more than MAX_DEPTH brackets. The parsed value
    # is what is measured: a deep value a duplicate key replaced is stored by no one.
    if text.count("{") + text.count("[") > MAX_DEPTH:
        _check_depth(body)
    return Notification(text, notification_type)


def _check_escapes(text: str) -> None:
    # Backslashes appear only in strings (the parser refused the body otherwise), and
    # reading escapes left to right pairs each backslash correctly: `\\u0000` is an
    # escaped backslash and the text u0000.
    pending_high = -1  # where the escape after a high surrogate must start
    for match in _ESCAPE.finditer(text):
        code = match.group(1)
        unit = int(code, 16) if code else None
        if pending_high >= 0:
            if (
                match.start() == pending_high
                and unit is not None
                and 0xDC00 <= unit <= 0xDFFF
            ):
                pending_high = -1
                continue
            raise BodyRefused(_LONE_SURROGATE)
        if unit is None:
            continue
        if unit == 0:
            raise BodyRefused("a string holds \\u0000, which jsonb cannot store")
        if 0xD800 <= unit <= 0xDBFF:
            pending_high = match.end()
        elif 0xDC00 <= unit <= 0xDFFF:
            raise BodyRefused(_LONE_SURROGATE)
    if pending_high >= 0:
        raise BodyRefused(_LONE_SURROGATE)


def _check_depth(body: Any) -> None:
    # iterative: the point is to refuse depth, not to need it
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise BodyRefused(f"JSON nested deeper than {MAX_DEPTH} levels")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)


def _integer(literal: str) -> int:
    # JSON integers have no leading zeros: the digit count is the magnitude
    if len(literal.lstrip("-")) > MAX_EXPONENT:
        raise BodyRefused(_OUT_OF_RANGE)
    return int(literal)


def _float(literal: str) -> float:
    """A literal with a fraction or an exponent, checked against what jsonb would print."""
    try:
        # exact, no rounding; exponents past libmpdec's 18 digits raise
        number = Decimal(literal)
    except InvalidOperation:
        raise BodyRefused(_OUT_OF_RANGE) from None
    exponent = number.as_tuple().exponent
    if not isinstance(exponent, int):  # NaN or Infinity: not JSON, never gets here
        raise BodyRefused(_OUT_OF_RANGE)
    if number:
        if not -MAX_EXPONENT <= number.adjusted() < MAX_EXPONENT:
            raise BodyRefused(_OUT_OF_RANGE)
        whole_digits = max(1, number.adjusted() + 1)
    else:
        whole_digits = 1  # jsonb prints `0e-5000` as "0." and 5,000 zeros
    if whole_digits + max(0, -exponent) > MAX_PRINTED_DIGITS:
        raise BodyRefused(_OUT_OF_RANGE)
    return float(literal)


def _constant(name: str) -> Any:
    raise BodyRefused(f"{name} is not JSON")


_OUT_OF_RANGE = (
    f"a number is outside what Python and PostgreSQL read alike (zero, or a magnitude "
    f"from 1e-{MAX_EXPONENT} to below 1e{MAX_EXPONENT}, in at most "
    f"{MAX_PRINTED_DIGITS} digits)"
)

# Built once: json.loads with keyword arguments builds a decoder per call.
_DECODER = json.JSONDecoder(
    parse_int=_integer, parse_float=_float, parse_constant=_constant
)

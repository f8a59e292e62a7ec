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
  reader sees the same object. (The stored text is jsonb's, with one value per key.)
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

_SURROGATE = re.compile("[\ud800-\udfff]")


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
    # Both walks are skipped for an ordinary notification: a string can hold \u0000 or a
    # surrogate only through an escape (strict UTF-8 and the parser refuse them raw), and
    # nesting deeper than MAX_DEPTH needs more than MAX_DEPTH brackets.
    strings = "\\u" in text
    deep = text.count("{") + text.count("[") > MAX_DEPTH
    if strings or deep:
        _walk(body, check_strings=strings)
    return Notification(text, notification_type)


def _walk(body: Any, *, check_strings: bool) -> None:
    # iterative: the point is to refuse depth, not to need it
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                raise BodyRefused(f"JSON nested deeper than {MAX_DEPTH} levels")
            for key, item in value.items():
                if check_strings:
                    _check_string(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                raise BodyRefused(f"JSON nested deeper than {MAX_DEPTH} levels")
            stack.extend((item, depth + 1) for item in value)
        elif check_strings and isinstance(value, str):
            _check_string(value)


def _check_string(value: str) -> None:
    if value.isascii():
        if "\x00" in value:
            raise BodyRefused("a string holds \\u0000, which jsonb cannot store")
    elif _SURROGATE.search(value):
        raise BodyRefused("a string holds a lone surrogate, which jsonb cannot store")


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

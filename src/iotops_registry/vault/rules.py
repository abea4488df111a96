"""Key Vault's limits on names, values, content types, tags and times.

Every check raises ``BadParameter`` before anything is stored, and no message quotes a value.
"""

from __future__ import annotations

import re

from .faults import bad_parameter

__all__ = [
    "MAX_CONTENT_TYPE",
    "MAX_TAGS",
    "MAX_VALUE_BYTES",
    "check_content_type",
    "check_name",
    "check_tags",
    "check_time",
    "encode_value",
]

MAX_VALUE_BYTES = 25 * 1024  # 25 KiB of UTF-8, Key Vault's limit
MAX_CONTENT_TYPE = 255
MAX_TAGS = 15
MAX_TAG_NAME = 512
MAX_TAG_VALUE = 256
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z

_NAME = re.compile(r"[0-9a-zA-Z-]{1,127}")


def check_name(name: str) -> str:
    """The name, if Key Vault would accept it."""
    if not _NAME.fullmatch(name):
        shown = name[:130].encode("ascii", "backslashreplace").decode()
        raise bad_parameter(
            f"The request URI contains an invalid name: {shown}. Secret names are 1-127 "
            "characters: letters, digits and dashes."
        )
    return name


def _utf8(text: str, what: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # from None: the exception's text would quote part of the string.
        raise bad_parameter(f"The {what} is not valid Unicode text.") from None


def encode_value(value: str) -> bytes:
    """The value as UTF-8, if it is within Key Vault's size limit."""
    raw = _utf8(value, "secret value")
    if len(raw) > MAX_VALUE_BYTES:
        raise bad_parameter(
            f"The secret value is {len(raw)} bytes; the maximum is {MAX_VALUE_BYTES} bytes."
        )
    return raw


def _text(text: str, what: str) -> None:
    _utf8(text, what)
    if "\x00" in text:  # PostgreSQL text cannot hold NUL
        raise bad_parameter(f"The {what} must not contain NUL characters.")


def check_content_type(content_type: str) -> str:
    _text(content_type, "content type")
    if len(content_type) > MAX_CONTENT_TYPE:
        raise bad_parameter(
            f"The content type is longer than the maximum of {MAX_CONTENT_TYPE} characters."
        )
    return content_type


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise bad_parameter(f"At most {MAX_TAGS} tags are allowed; {len(tags)} were given.")
    for key, value in tags.items():
        _text(key, "tag name")
        _text(value, "tag value")
        if not key or len(key) > MAX_TAG_NAME:
            raise bad_parameter(f"Tag names must be 1 to {MAX_TAG_NAME} characters long.")
        if len(value) > MAX_TAG_VALUE:
            raise bad_parameter(f"Tag values must be at most {MAX_TAG_VALUE} characters long.")
    return tags


def check_time(value: int, what: str) -> int:
    if not 0 <= value <= MAX_TIME:
        raise bad_parameter(f"The attribute '{what}' must be a time between 1970 and 9999.")
    return value

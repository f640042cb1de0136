"""Secrets never leave the process: one set of rules, used by every sink (docs/hostile-conditions.md).

Two kinds of rule:

- **keys**: a value stored under a secret key (a payload key, a header name, a query parameter, a resource
  attribute, a ``name=value`` inside a text) is replaced by ``[REDACTED]``. A key is secret when it names a
  credential in any of the spellings bots and exchange APIs use: ``api_key``, ``apiKey``, ``X-MBX-APIKEY``,
  ``OK-ACCESS-KEY``/``-SIGN``/``-PASSPHRASE``, ``X-BAPI-SIGN``, ``CB-ACCESS-SIGN``, ``API-Sign``, ``secret``,
  ``password``/``pwd``/``pass`` alone, ``passphrase``, ``token``, ``auth``, ``Authorization``, ``cookie``,
  ``session``, ``credential``, ``signature``/``sign``/``sig``, ``private_key``, ``mnemonic``/``seed_phrase``,
  ``jwt``, ``otp``, ``key`` alone, and ``<api|access|secret|private|client|...>_key``. Keys are compared
  after splitting camelCase and separators into words, so ``sign`` matches ``X-BAPI-SIGN`` but not
  ``signal``, and ``key`` alone matches ``KEY`` but not ``sort_key``;
- **text**: whatever its key, a string that *is* a credential (``Bearer x``, ``Basic x``, anything holding a
  private-key block) becomes ``[REDACTED]``; a credential *inside* a longer string is replaced in place,
  keeping the rest readable: ``Bearer`` tokens anywhere, URL user info (``https://[REDACTED]@host``), and the
  value of every ``name=value``, ``name: value``, ``name='value'`` or ``"name": "value"`` whose name is a
  secret key (query strings such as ``?signature=...``, header lines, ``repr`` of objects holding
  ``api_key=``, dict and JSON text).

:func:`needs_scrub` is the cheap test hot paths run first: a string without a trigger (``=``, ``:``, ``@``, a
quote before a comma, ``bearer``, ``basic``, ``private key``) holds nothing these rules would change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "DEFAULT_SECRET_KEYS",
    "REDACTED",
    "Scrubber",
    "default_scrubber",
    "needs_scrub",
    "printable",
]

REDACTED = "[REDACTED]"

# Regular expressions over the key split into lower-case words joined by "_" and framed by "_" ("X-MBX-APIKEY"
# -> "_x_mbx_apikey_", "apiKey" -> "_api_key_"), so a pattern can ask for whole words.
DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    r"api_?key",
    r"secret",
    r"passw(?:or)?d",
    r"passphrase",
    r"token",
    r"authori[sz]ation",
    r"priv(?:ate)?_?key",
    r"cookie",
    r"session",
    r"credential",
    r"signature",
    r"mnemonic",
    r"seed_?(?:phrase|words)",
    r"wallet_?seed",
    r"jwt",
    r"bearer",
    r"_(?:pwd|o?auth|sign|sig|otp|totp|hotp|2fa|mfa|xprv|wif|csrf|xsrf)_",
    r"_(?:access|secret|client|signing|auth|master|encryption|hmac|wallet|account|user|exchange|trading)_?key_",
    r"^_(?:key|pass)_$",
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_KEY_CACHE_LIMIT = 4096
# Cheap first test: text without any of these holds nothing the text rules change.
_TRIGGER = re.compile(r"""[=:@]|["'][ \t]*,|bearer|basic|private key""", re.IGNORECASE)
_WHOLE = re.compile(r"\s*(?:bearer|basic)\s+\S+\s*", re.IGNORECASE)
_PRIVATE_KEY = re.compile(r"PRIVATE KEY", re.IGNORECASE)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9\-._~+/]{4,}=*")
_URL_USER = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)[^/\s@?#]+@")
# user:password@host without a scheme, as gRPC spells a target in its errors ("user:pw@127.0.0.1:4317").
_BARE_USER = re.compile(r"(?<![\w.%+\-])[A-Za-z0-9._~%+\-]+:[^\s/@]+@(?=[A-Za-z0-9\[])")
# name=value, name: value, name='value', "name": "value": every key and separator is visited (a value under a
# key that is not secret may hold pairs of its own: "url=https://x/?signature=..."), and the value after a
# secret one, quoted or up to a delimiter, is replaced. A value starting with an auth scheme takes the scheme
# and the credential after it.
_KEY_SEP = re.compile(
    r"""(?P<q>["']?)(?P<key>[A-Za-z_][A-Za-z0-9_.\-]{0,63})(?P=q)[ \t]*[:=][ \t]*"""
    # ('X-MBX-APIKEY', '...'): a pair of a header list, in repr or JSON text
    r"""|(?P<p>["'])(?P<item>[A-Za-z_][A-Za-z0-9_.\-]{0,63})(?P=p)[ \t]*,[ \t]*(?=["'])"""
)
_VALUE = re.compile(r""""[^"]*"|'[^']*'|(?:(?:bearer|basic|digest|token)[ \t]+)?[^\s&,;#'"}\])]+""", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _words(key: str) -> str:
    return "_" + _NON_WORD.sub("_", _CAMEL.sub("_", key).lower()).strip("_") + "_"


def needs_scrub(text: str) -> bool:
    """False when ``text`` certainly holds nothing the text rules would change (the hot paths' first test)."""
    return _TRIGGER.search(text) is not None


class Scrubber:
    """The rules, with ``extra_keys`` (``OTEL_BREAKOUT_DIAG_SECRET_KEYS``: regular expressions searched in the key
    as written, case-insensitive) on top of :data:`DEFAULT_SECRET_KEYS`."""

    __slots__ = ("_extra", "_keys", "_words")

    def __init__(self, extra_keys: Iterable[str] = ()) -> None:
        self._words = re.compile("|".join(f"(?:{p})" for p in DEFAULT_SECRET_KEYS))
        extra = tuple(extra_keys)
        self._extra = re.compile("|".join(f"(?:{p})" for p in extra), re.IGNORECASE) if extra else None
        # key -> is it secret; read without a lock from several threads (dict reads and stores are atomic).
        self._keys: dict[str, bool] = {}

    def is_secret_key(self, key: str) -> bool:
        known = self._keys.get(key)
        if known is None:
            known = self._words.search(_words(key)) is not None or (
                self._extra is not None and self._extra.search(key) is not None
            )
            if len(self._keys) < _KEY_CACHE_LIMIT:
                self._keys[key] = known
        return known

    def text(self, text: str) -> str:
        """``text`` itself when the rules change nothing (the common case), else its scrubbed copy."""
        if _TRIGGER.search(text) is None:
            return text
        if _PRIVATE_KEY.search(text) is not None or _WHOLE.fullmatch(text) is not None:
            return REDACTED
        # URL user info first (its "user:password" must not read as a pair), then pairs (an "Authorization:
        # Bearer x" line loses scheme and token together), then bearer tokens anywhere else.
        out = _URL_USER.sub(r"\1" + REDACTED + "@", text)
        out = _BARE_USER.sub(REDACTED + "@", out)
        out = self._pairs(out)
        return _BEARER.sub(r"\1" + REDACTED, out)

    def _pairs(self, text: str) -> str:
        pieces: list[str] = []
        done = 0  # text before this offset is settled (copied, or a value replaced)
        for match in _KEY_SEP.finditer(text):
            if match.start() < done or not self.is_secret_key(match.group("key") or match.group("item")):
                continue
            value = _VALUE.match(text, match.end())
            if value is None:
                continue
            quote = value.group()[0]
            pieces.append(text[done : match.end()])
            pieces.append(quote + REDACTED + quote if quote in "'\"" else REDACTED)
            done = value.end()
        if not pieces:
            return text
        pieces.append(text[done:])
        return "".join(pieces)

    def value(self, key: str, value: Any) -> Any:
        """A (key, value) pair's value as it may be shown: redacted under a secret key, text scrubbed."""
        if self.is_secret_key(key):
            return REDACTED
        return self.text(value) if isinstance(value, str) else value

    def pairs(self, pairs: Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
        """Key/value pairs (headers, resource attributes) with :meth:`value` applied to each."""
        return tuple((key, self.value(key, value)) for key, value in pairs)


_default = Scrubber()


def default_scrubber() -> Scrubber:
    """The rules without extra keys (for sinks outside a collector: ``env``, the resource, stdlib logging)."""
    return _default


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 256 else f"\\u{code:04x}"


def printable(text: str, limit: int = 200) -> str:
    """Untrusted text (a request path, a header) made safe for one log line: control characters escaped (no
    forged lines, no terminal escapes), at most ``limit`` characters, then scrubbed."""
    # Scrubbed before it is cut, so a cut never leaves half a credential behind its key.
    shown = _default.text(_CONTROL.sub(_escape, text[: limit + 256]))
    if len(shown) > limit:
        shown = shown[:limit] + f"…[{len(text) - limit} more]"
    return shown

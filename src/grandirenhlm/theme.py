"""A show's colours on its pages: the `[theme]` table of its definition, held to WCAG AA contrast.

```toml
[theme]                   # in feeds/<show>.toml; optional
accent = "#00529c"        # links, buttons, the chapter being played, in light mode
accent_dark = "#8cc4ff"   # the same in dark mode (prefers-color-scheme: dark); derived when absent
```

The accent is text (links) on the page and on the cards, and the background of buttons whose text is
the page's colour, so one ratio per mode says whether AA holds: at least 4.5:1 against every
background of that mode (WCAG 2.1, 1.4.3). `check` reports a colour below it as an error; a missing
`accent_dark` is made from `accent` by mixing in white until it passes. The backgrounds here are
the stylesheet's (`templates/assets/style.css`, `--paper` and `--surface`); a test keeps them equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grandirenhlm.errors import ConfigError
from grandirenhlm.files import display_path
from grandirenhlm.model import Show

AA = 4.5  # WCAG 2.1 AA, normal text
LIGHT_BACKGROUNDS = ("#ffffff", "#eef2f7")  # style.css: --paper, --surface (cards)
DARK_BACKGROUNDS = ("#15181c", "#21262d")  # the same under prefers-color-scheme: dark
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class Theme:
    accent: str  # "#rrggbb", lower case
    accent_dark: str

    @property
    def style(self) -> str:
        """The custom properties the stylesheet reads (`--show-accent`, `--show-accent-dark`)."""
        return f"--show-accent:{self.accent};--show-accent-dark:{self.accent_dark}"


DEFAULT = Theme("#00529c", "#8cc4ff")  # the site's own colours (style.css), for pages of no show


def load_theme(show: Show) -> Theme | None:
    """The show's `[theme]`, or None without one; a malformed one is a `ConfigError` naming the key."""
    from grandirenhlm.records import read_toml

    data = read_toml(show.source).get("theme")
    if data is None:
        return None
    where = display_path(show.source)
    if not isinstance(data, dict):
        raise ConfigError(f'{where}: theme: expected a table with accent = "#rrggbb"')
    unknown = sorted(set(data) - {"accent", "accent_dark"})
    if unknown:
        raise ConfigError(f"{where}: theme.{unknown[0]}: unknown key (expected accent, accent_dark)")
    accent = _colour(data.get("accent"), f"{where}: theme.accent")
    if "accent_dark" in data:
        dark = _colour(data["accent_dark"], f"{where}: theme.accent_dark")
    else:
        dark = derive_dark(accent)
    return Theme(accent, dark)


def _colour(value: object, where: str) -> str:
    if not isinstance(value, str) or not _COLOUR.fullmatch(value):
        raise ConfigError(f'{where}: expected a colour like "#00529c", got {value!r}')
    return value.lower()


def theme_problems(show: Show) -> list[str]:
    """What `check` reports about the show's colours: a malformed `[theme]`, or a colour whose
    contrast with a background of its mode is under AA. Empty when the show has no theme."""
    try:
        theme = load_theme(show)
    except ConfigError as exc:
        return [str(exc).split(": ", 1)[1]]
    if theme is None:
        return []
    problems = []
    for key, colour, backgrounds in (
        ("accent", theme.accent, LIGHT_BACKGROUNDS),
        ("accent_dark", theme.accent_dark, DARK_BACKGROUNDS),
    ):
        worst = min(backgrounds, key=lambda b: contrast(colour, b))
        ratio = contrast(colour, worst)
        if ratio < AA:
            lighter = "a darker" if key == "accent" else "a lighter"
            problems.append(
                f"theme.{key}: {colour} on {worst} has a contrast of {ratio:.2f}:1, under the 4.5:1 "
                f"WCAG AA asks for text; choose {lighter} colour"
            )
    return problems


def derive_dark(accent: str) -> str:
    """`accent` mixed with white, in steps of 5 %, until it reads on every dark background."""
    r, g, b = _rgb(accent)
    for step in range(21):
        t = step / 20
        mixed = "#" + "".join(f"{round(c + (255 - c) * t):02x}" for c in (r, g, b))
        if all(contrast(mixed, bg) >= AA for bg in DARK_BACKGROUNDS):
            return mixed
    return "#ffffff"  # unreachable: white passes on the dark backgrounds


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two "#rrggbb" colours, from 1 to 21."""
    la, lb = _luminance(a), _luminance(b)
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _luminance(colour: str) -> float:
    """Relative luminance (WCAG 2.1 definition, sRGB)."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b

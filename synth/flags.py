"""The flags both CLIs share: data flags mapped onto `SynthConfig`, and user errors as one line.

`--config FILE` loads a config (a saved one, a dataset's manifest.json or a model's config.json), `--preset`
names a starting one, the other flags and `--set a.b=VALUE` change fields on top. A SynthError prints one
line and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

from synth.alphabet import Alphabet, named_alphabet
from synth.config import EffectsConfig, SynthConfig, replace_path
from synth.errors import SynthError


def add_config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (maps onto SynthConfig)")
    g.add_argument("--config", help="JSON config file (or a dataset's manifest.json / a model's config.json)")
    g.add_argument("--preset", choices=("words", "lines", "scene"),
                   help="start from a preset: words (the default), lines (printed text lines, variable width) or "
                   "scene (word crops from photos and screens)")
    g.add_argument("--alphabet", help="characters the text and labels may use (default: digits, letters, "
                   "space, punctuation); @FILE reads them from a file; a script's name (arabic, hebrew, devanagari, "
                   "thai, bengali) takes its charset and bundled fonts, and random strings unless --text says")
    g.add_argument("--font-dir", action="append", default=[], help="extra font folder (repeatable)")
    g.add_argument("--no-bundled-fonts", action="store_true", help="use only the --font-dir fonts")
    g.add_argument("--system-fonts", action="store_true", help="add every font the operating system has")
    g.add_argument("--height", type=int, help="image height in pixels")
    g.add_argument("--width", help="image width in pixels, or 'auto' for variable width keeping the aspect")
    g.add_argument("--min-len", type=int, help="shortest text")
    g.add_argument("--max-len", type=int, help="longest text")
    g.add_argument("--text", help="text source weights over random, words, corpus, prose, e.g. words=0.7,random=0.3")
    g.add_argument("--lexicon", help="word list file (one word per line) for the 'words' and 'prose' sources")
    g.add_argument("--corpus", help="text file (one sample per line) for the 'corpus' source")
    g.add_argument("--no-effects", action="store_true", help="plain black text on white, no distortions")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field, e.g. effects.rotate.p=0 or fonts.size=[0.6,0.8] (JSON values)")


def check_one_start(a: argparse.Namespace) -> None:
    if a.config and a.preset:
        raise SynthError("--config and --preset both name a starting config; give one (and --set on top)")


def config_from_args(a: argparse.Namespace) -> SynthConfig:
    """The data config of `synth`'s commands: --config or --preset (or the defaults), then the flags on top."""
    check_one_start(a)
    if a.config:
        cfg = SynthConfig.load(a.config)
    else:
        cfg = SynthConfig.preset(a.preset) if a.preset else SynthConfig()
    return apply_data_flags(a, cfg)


def apply_data_flags(a: argparse.Namespace, cfg: SynthConfig) -> SynthConfig:
    """`cfg` with the data flags given (all but --config and --preset, which choose the starting config)."""
    if a.alphabet is not None:
        chars = a.alphabet
        script = named_alphabet(chars)
        if chars.startswith("@"):
            try:
                chars = open(chars[1:], encoding="utf-8").read().replace("\n", "")
            except OSError as e:
                raise SynthError(f"cannot read alphabet file {chars[1:]}: {e.strerror}") from None
        elif script is not None:  # a named script: its charset, its bundled fonts, and random strings of it
            chars = script
            cfg.fonts.scripts = list(dict.fromkeys([*cfg.fonts.scripts, a.alphabet]))
            if a.text is None and not a.lexicon and not a.corpus:  # the bundled lexicon is English
                cfg.text.sources = {"random": 1.0}
        cfg.alphabet = Alphabet(chars).chars
    cfg.fonts.dirs += a.font_dir
    if a.system_fonts:
        cfg.fonts.system = True
    if a.no_bundled_fonts:
        cfg.fonts.bundled = False
    if a.height is not None:
        cfg.render.height = a.height
    if a.width is not None:
        cfg.render.width = None if a.width == "auto" else _int(a.width, "--width")
    if a.min_len is not None:
        cfg.text.min_len = a.min_len
    if a.max_len is not None:
        cfg.text.max_len = a.max_len
    if a.text is not None:
        cfg.text.sources = _weights(a.text)
    if a.lexicon:
        cfg.text.lexicon = a.lexicon
    if a.corpus:
        cfg.text.corpus = a.corpus
    if a.no_effects:
        cfg.effects = EffectsConfig.off()
    for item in a.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise SynthError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value  # a bare string
        try:
            replace_path(cfg, key.strip(), parsed)
        except SynthError as first:
            if parsed == value:
                raise
            try:  # a string field whose value reads as JSON, e.g. text.random_chars=0123
                replace_path(cfg, key.strip(), value)
            except SynthError:
                raise first from None
    return cfg


def _int(s: str, flag: str) -> int:
    try:
        return int(s)
    except ValueError:
        raise SynthError(f"{flag} expects a number, got {s!r}") from None


def _weights(s: str) -> dict[str, float]:
    out = {}
    for part in s.split(","):
        name, _, w = part.partition("=")
        try:
            out[name.strip()] = float(w) if w else 1.0
        except ValueError:
            raise SynthError(f"--text expects name=weight pairs, got {part!r}") from None
    return out


def run_cli(main: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a CLI entry point: a SynthError becomes one line on stderr and exit status 2."""

    def wrapped(argv: Sequence[str] | None = None) -> int:
        try:
            return main(argv)
        except SynthError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapped

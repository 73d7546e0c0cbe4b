"""`synth`: render datasets, previews, and font coverage reports from the command line.

Flags map onto `SynthConfig`; `--config FILE` loads one (a saved config or a dataset's manifest.json),
and `--set a.b=VALUE` reaches any field. User errors print one line and exit 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides our output

from synth.alphabet import Alphabet
from synth.config import EffectsConfig, SynthConfig, replace_path
from synth.errors import SynthError


def add_config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (maps onto SynthConfig)")
    g.add_argument("--config", help="JSON config file (or a dataset's manifest.json / a model's config.json)")
    g.add_argument("--preset", choices=("words", "lines"),
                   help="start from a preset: words (the default) or lines (printed text lines, variable width)")
    g.add_argument("--alphabet", help="characters the text and labels may use (default: digits, letters, "
                   "space, punctuation); @FILE reads them from a file")
    g.add_argument("--font-dir", action="append", default=[], help="extra font folder (repeatable)")
    g.add_argument("--no-bundled-fonts", action="store_true", help="use only the --font-dir fonts")
    g.add_argument("--height", type=int, help="image height in pixels")
    g.add_argument("--width", help="image width in pixels, or 'auto' for variable width keeping the aspect")
    g.add_argument("--min-len", type=int, help="shortest text")
    g.add_argument("--max-len", type=int, help="longest text")
    g.add_argument("--text", help="text source weights over random, words, corpus, prose, e.g. words=0.7,random=0.3")
    g.add_argument("--lexicon", help="word list file (one word per line) for the 'words' and 'prose' sources")
    g.add_argument("--corpus", help="text file (one sample per line) for the 'corpus' source")
    g.add_argument("--no-effects", action="store_true", help="plain black text on white, no distortions")
    g.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="set any config field, e.g. effects.p_rotate=0 or fonts.size=[0.6,0.8] (JSON values)")


def check_one_start(a: argparse.Namespace) -> None:
    if a.config and a.preset:
        raise SynthError("--config and --preset both name a starting config; give one (and --set on top)")


def config_from_args(a: argparse.Namespace, base: SynthConfig | None = None) -> SynthConfig:
    check_one_start(a)
    if a.config:
        cfg = SynthConfig.load(a.config)
    else:
        cfg = SynthConfig.preset(a.preset) if a.preset else (base or SynthConfig())
    if a.alphabet is not None:
        chars = a.alphabet
        if chars.startswith("@"):
            try:
                chars = open(chars[1:], encoding="utf-8").read().replace("\n", "")
            except OSError as e:
                raise SynthError(f"cannot read alphabet file {chars[1:]}: {e.strerror}") from None
        cfg.alphabet = Alphabet(chars).chars
    cfg.fonts.dirs += a.font_dir
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


def cmd_fonts(a: argparse.Namespace) -> int:
    from synth.fonts import FontLibrary

    cfg = config_from_args(a)
    lib = FontLibrary(cfg.fonts, cfg.alphabet)
    n = len(cfg.alphabet)
    width = max(len(f.name) for f in lib.fonts)
    print(f"{'font':<{width}}  covers   lacks   (alphabet of {n} characters)")
    for f in lib.fonts:
        lacks = f.lacks(cfg.alphabet)
        print(f"{f.name:<{width}}  {n - len(lacks):>3}/{n:<3}  {lacks!r}" if lacks else f"{f.name:<{width}}  "
              f"{n:>3}/{n:<3}  -")
    nobody = "".join(c for c in cfg.alphabet if not c.isspace() and not any(c in f.covered for f in lib.fonts))
    if nobody:
        print(f"no font draws: {nobody!r}")
    return 0


def cmd_render(a: argparse.Namespace) -> int:
    from synth.dataset import write

    cfg = config_from_args(a)
    out = write(cfg, a.out, a.count, seed=a.seed, fmt=a.format, shard_size=a.shard_size, workers=a.workers,
                progress=not a.quiet)
    print(f"wrote {a.count} samples to {out}")
    return 0


def cmd_preview(a: argparse.Namespace) -> int:
    from synth.preview import preview

    cfg = config_from_args(a)
    print(f"wrote {preview(cfg, a.out, seed=a.seed, count=a.count, columns=a.columns)}")
    return 0


def cmd_config(a: argparse.Namespace) -> int:
    print(json.dumps(config_from_args(a).to_dict(), indent=1, ensure_ascii=False))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="synth", description="Render labelled text images from fonts.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write a dataset (PNG + labels.tsv, or TFRecord shards)")
    r.add_argument("--out", required=True, help="output folder (run the same command again to resume)")
    r.add_argument("--count", type=int, required=True, help="number of samples")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--format", choices=["png", "tfrecord"], default="png")
    r.add_argument("--shard-size", type=int, default=1000, help="samples per shard (the unit of resumption)")
    r.add_argument("--workers", type=int, help="rendering processes (default: all cores)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_args(r)
    r.set_defaults(fn=cmd_render)
    v = sub.add_parser("preview", help="draw a grid of samples with their texts and fonts")
    v.add_argument("--out", required=True, help="PNG file")
    v.add_argument("--count", type=int, default=32)
    v.add_argument("--columns", type=int, default=4)
    v.add_argument("--seed", type=int, default=0)
    add_config_args(v)
    v.set_defaults(fn=cmd_preview)
    f = sub.add_parser("fonts", help="each font's coverage of the alphabet, and what it lacks")
    add_config_args(f)
    f.set_defaults(fn=cmd_fonts)
    c = sub.add_parser("config", help="print the config the flags make, as JSON (a starting point for --config)")
    add_config_args(c)
    c.set_defaults(fn=cmd_config)
    return p


@run_cli
def main(argv: Sequence[str] | None = None) -> int:
    a = parser().parse_args(argv)
    return a.fn(a)

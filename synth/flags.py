"""The flags both CLIs share: data flags mapped onto `SynthConfig`, and user errors as one line.

`--config FILE` loads a config (a saved one, a dataset's manifest.json or a model's config.json), `--preset`
names a starting one, the other flags and `--set a.b=VALUE` change fields on top. A SynthError prints one
line and exits 2, without a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from synth.alphabet import WIDE_SCRIPTS, Alphabet, named_alphabet
from synth.config import PRESETS, EffectsConfig, SynthConfig, replace_path
from synth.errors import SynthError
from synth.files import read_text


def add_config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("data (maps onto SynthConfig)")
    g.add_argument("--config", help="JSON config file (or a dataset's manifest.json / a model's config.json)")
    g.add_argument("--preset", choices=PRESETS,
                   help="start from a preset: words (the default), lines (printed text lines, variable width), "
                   "captcha (200x50, 5 jittered characters and a line through them), plate (licence plates, one "
                   "and two lines), hand (handwritten faces, letters set unevenly) or "
                   "scene (word crops from photos and screens)")
    g.add_argument("--alphabet", help="characters the text and labels may use (default: digits, letters, "
                   "space, punctuation); @FILE reads them from a file; a script's name (arabic, hebrew, devanagari, "
                   "thai, bengali, korean) takes its charset and bundled fonts, and random strings unless --text says")
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
            chars = "".join(read_text(chars[1:], "alphabet file").splitlines())  # \n, \r\n, \r
        elif script is not None:  # a named script: its charset, its bundled fonts, and random strings of it
            chars = script
            cfg.fonts.scripts = list(dict.fromkeys([*cfg.fonts.scripts, a.alphabet.lower()]))
            if a.text is None and not a.lexicon and not a.corpus:  # the bundled lexicon is English
                cfg.text.sources = {"random": 1.0}
            wide = WIDE_SCRIPTS.get(a.alphabet.lower())
            if wide and a.max_len is None:  # square syllables: as wide as two Latin letters each
                cfg.text.max_len = max(cfg.text.min_len, min(cfg.text.max_len, wide))
        cfg.alphabet = Alphabet(chars).chars
    cfg.fonts.dirs += a.font_dir
    if a.system_fonts:
        cfg.fonts.system = True
    if a.no_bundled_fonts:
        cfg.fonts.bundled = False
    if a.height is not None:
        cfg.render.height = a.height
    if a.width is not None:
        cfg.render.width = None if a.width.strip().lower() == "auto" else _int(a.width, "--width", "or auto")
    if a.min_len is not None:
        cfg.text.min_len = a.min_len
    if a.max_len is not None:
        cfg.text.max_len = a.max_len
    if a.text is not None:
        cfg.text.sources = text_weights(a.text)
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


def _int(s: str, flag: str, other: str = "") -> int:
    try:
        return int(s)
    except ValueError:
        raise SynthError(f"{flag} expects a number{' ' + other if other else ''}, got {s!r}") from None


def text_weights(s: str) -> dict[str, float]:
    """--text's "name=weight,..." as text source weights (a bare name weighs 1)."""
    out = {}
    for part in s.split(","):
        name, _, w = part.partition("=")
        try:
            out[name.strip()] = float(w) if w else 1.0
        except ValueError:
            raise SynthError(f"--text expects name=weight pairs, got {part!r}") from None
    return out


#: what to do about the operating system's refusals, by errno; the writers leave only whole files behind, so
#: after the fix the same command goes on where it stopped
_OS_FIXES = {
    errno.ENOSPC: "free some space, then run the same command again: it goes on from where it stopped",
    errno.EDQUOT: "free some space, then run the same command again: it goes on from where it stopped",
    errno.EROFS: "the disk is read-only: choose a folder you can write to",
    errno.EACCES: "choose a folder you can write to, or fix its permissions",
    errno.EPERM: "choose a folder you can write to, or fix its permissions",
    errno.ENOTDIR: "a file stands where a folder is needed: choose another path",
    errno.EISDIR: "a folder stands where a file is needed: choose another path",
    errno.ENOENT: "check the path",
    errno.ENAMETOOLONG: "choose a shorter path",
}


def _os_error(e: OSError) -> str:
    where = f": {e.filename}" if e.filename else ""
    return f"{e.strerror or e}{where}; {_OS_FIXES.get(e.errno or 0, 'fix that, then run the same command again')}"


def _user_error_inside(e: Exception) -> str | None:
    """A SynthError raised inside a tf.data pipeline reaches us wrapped in a TensorFlow error, with the
    pipeline's traceback in its text: its own message, or None for any other error."""
    text = str(e)
    if not type(e).__module__.startswith("tensorflow") or "SynthError: " not in text:
        return None
    return text.split("SynthError: ", 1)[1].split("\n", 1)[0].strip()


def _one_line_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
                      line: str | None = None) -> None:
    """A warning as the CLIs show it: one line, without the source file and line it came from."""
    print(f"warning: {message}", file=sys.stderr)


def run_cli(main: Callable[[Sequence[str] | None], int]) -> Callable[[Sequence[str] | None], int]:
    """Wrap a CLI entry point: a user's error (a SynthError, one the operating system raised: a full or
    read-only disk) becomes one line on stderr and exit status 2; Ctrl-C one word and 130; a closed pipe
    (`synth config | head`) nothing. SYNTHOCR_DEBUG=1 lets the traceback through."""

    def wrapped(argv: Sequence[str] | None = None) -> int:
        warnings.showwarning = _one_line_warning
        try:
            status = main(argv)
            sys.stdout.flush()  # here, so that a reader gone away is seen here and not at exit
            return status
        except BrokenPipeError:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush writes nowhere
            return 141
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130
        except Exception as e:
            if os.environ.get("SYNTHOCR_DEBUG"):
                raise
            if isinstance(e, SynthError):
                message = str(e)
            elif isinstance(e, OSError):
                message = _os_error(e)
            elif (inside := _user_error_inside(e)) is not None:
                message = inside
            else:
                raise
            print(f"error: {message}", file=sys.stderr)
            return 2

    return wrapped

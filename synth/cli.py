"""`synth`: render and convert datasets, previews, font coverage and real-set comparisons from the command line.

The data flags (`synth.flags`) map onto `SynthConfig`. User errors print one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from synth.flags import add_config_args, config_from_args, run_cli
from synth.formats import FORMATS


def cmd_fonts(a: argparse.Namespace) -> int:
    from synth.fonts import library

    cfg = config_from_args(a)
    lib = library(cfg.fonts, cfg.alphabet)
    n = len(cfg.alphabet)
    width = max(len(f.name) for f in lib.fonts)
    print(f"{'font':<{width}}  covers   lacks   (alphabet of {n} characters)")
    for f in lib.fonts:
        lacks = f.lacks(cfg.alphabet)
        print(f"{f.name:<{width}}  {n - len(lacks):>3}/{n:<3}  {lacks!r}" if lacks else f"{f.name:<{width}}  "
              f"{n:>3}/{n:<3}  -")
    for path, why in lib.skipped:
        print(f"left out {path}: {why}")
    nobody = "".join(c for c in cfg.alphabet if not c.isspace() and not any(c in f.covered for f in lib.fonts))
    if nobody:
        print(f"no font draws: {nobody!r}")
    return 0


def cmd_render(a: argparse.Namespace) -> int:
    from synth.dataset import write

    cfg = config_from_args(a)
    out = write(cfg, a.out, a.count, seed=a.seed, fmt=a.format, shard_size=a.shard_size, workers=a.workers,
                progress=not a.quiet, ray=a.ray)
    print(f"wrote {a.count} samples to {out}")
    return 0


def cmd_convert(a: argparse.Namespace) -> int:
    from synth.dataset import convert

    print(f"wrote {convert(a.src, a.dst, a.format, a.shard_size, progress=not a.quiet)}")
    return 0


def cmd_preview(a: argparse.Namespace) -> int:
    from synth.preview import preview

    cfg = config_from_args(a)
    print(f"wrote {preview(cfg, a.out, seed=a.seed, count=a.count, columns=a.columns, boxes=a.boxes)}")
    return 0


def cmd_compare(a: argparse.Namespace) -> int:
    from synth.fidelity import compare

    result = compare(config_from_args(a), a.real, count=a.count, seed=a.seed)
    print(json.dumps(result.to_dict(), indent=1, ensure_ascii=False) if a.json else result.report())
    return 0


def cmd_config(a: argparse.Namespace) -> int:
    cfg = config_from_args(a)
    cfg.validate()  # a config printed is one that renders
    print(json.dumps(cfg.to_dict(), indent=1, ensure_ascii=False))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="synth", description="Render labelled text images from fonts.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("render", help="write a dataset (PNG + labels.tsv, or TFRecord shards)")
    r.add_argument("--out", required=True, help="output folder (run the same command again to resume)")
    r.add_argument("--count", type=int, required=True, help="number of samples")
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--format", choices=FORMATS, default="png",
                   help="png (images and labels.tsv), tfrecord, or lmdb (the DTRB layout scene-text projects read)")
    r.add_argument("--shard-size", type=int, default=1000, help="samples per shard (the unit of resumption)")
    r.add_argument("--workers", type=int, help="rendering processes (default: all cores); with --ray local, the "
                   "instance's CPUs")
    r.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                   help="render the shards as tasks on a Ray cluster (the ray extra): HOST:PORT of its head, 'auto' "
                   "for the cluster of `ray start`, ray://HOST:PORT through Ray Client; alone, a Ray instance on "
                   "this machine. The same bytes as without; png needs an --out every node shares")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_args(r)
    r.set_defaults(fn=cmd_render)
    k = sub.add_parser("convert", help="copy a dataset (ours in any format, a labels.tsv folder, an LMDB) into "
                       "another format")
    k.add_argument("src", help="the dataset folder to read")
    k.add_argument("dst", help="the folder to write (run the same command again to resume)")
    k.add_argument("--format", choices=FORMATS, required=True)
    k.add_argument("--shard-size", type=int, default=1000, help="samples per shard (the unit of resumption)")
    k.add_argument("--quiet", action="store_true", help="no progress bar")
    k.set_defaults(fn=cmd_convert)
    v = sub.add_parser("preview", help="draw a grid of samples with their texts and fonts")
    v.add_argument("--out", required=True, help="PNG file")
    v.add_argument("--count", type=int, default=32)
    v.add_argument("--columns", type=int, default=4)
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--boxes", action="store_true", help="draw each character's box over its sample")
    add_config_args(v)
    v.set_defaults(fn=cmd_preview)
    m = sub.add_parser("compare", help="how the config's samples differ from real crops: image and label measures "
                       "side by side, the far-apart ones first")
    m.add_argument("--real", required=True, help="a folder of real labelled crops (labels.tsv, LMDB, or "
                   "a dataset of ours)")
    m.add_argument("--count", type=int, default=1000, help="real images to read (the first ones), and as many samples")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--json", action="store_true", help="print the comparison as JSON")
    add_config_args(m)
    m.set_defaults(fn=cmd_compare)
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

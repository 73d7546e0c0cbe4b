"""The seeds' other domains: a captcha reader and a plate reader trained from the stream alone, read on real sets.

    python scripts/bench_domains.py --work DIR [--captcha REAL_CAPTCHAS] [--plates REAL_PLATES]
                                    [--captcha-minutes 30] [--plate-minutes 60] [--plate-model twoline]
                                    [--only captcha|plate]

Trains `train fit --preset captcha --max-minutes 30` into DIR/captcha and `train fit --preset plate
--max-minutes 60` into DIR/plate, the issue's commands (each resumed if there; `--plate-model twoline` trains the
two-line reader instead, which learns far slower: docs/benchmarks.md), then reads each real set (a labels.tsv
folder or an LMDB) and prints the share read exactly: captchas as written; plates on their letters, digits
and Hangul only (separators, spaces and the line break ignored, capitals as lowercase), since sets write the
same plate as "ABC-1234" and "ABC 1234". Without a real set it prints the model's own validation only: the
issue's targets (60% of real captchas, 40% of real plates) need sets that do not ship with the project.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

TARGETS = {"captcha": 0.60, "plate": 0.40}


def plate_key(text: str) -> str:
    return re.sub(r"[^0-9a-z\uac00-\ud7a3]", "", text.lower())


def train(work: Path, name: str, minutes: float, extra: list[str]) -> dict:
    out = work / name
    cmd = ["train", "fit", "--out", str(out), "--preset", name, "--max-minutes", str(minutes), "--steps",
           str(int(2500 * minutes)), "--patience", "0", "--quiet", *extra]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    history = [json.loads(line) for line in (out / "history.jsonl").read_text().splitlines() if line.strip()]
    evals = [h for h in history if "val" in h]  # the evaluation rows; the others log the loss
    return {"command": " ".join(cmd), "minutes": (time.perf_counter() - t0) / 60,
            "last": evals[-1]["val"] if evals else None}


def read_real(model: Path, data: Path, key) -> dict:
    from synth.dataset import iter_samples
    from train.recognizer import load

    rec = load(model)
    images, texts = [], []
    for img, text, _ in iter_samples(data):
        images.append(img)
        texts.append(text)
    read = [p.text for p in rec.predict(images)]
    right = sum(key(a) == key(b) for a, b in zip(read, texts, strict=True))
    return {"n": len(texts), "exact": right / max(1, len(texts))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--captcha", type=Path, help="real captchas: a labels.tsv folder or an LMDB")
    ap.add_argument("--plates", type=Path, help="real plate crops: a labels.tsv folder or an LMDB")
    ap.add_argument("--captcha-minutes", type=float, default=30.0)
    ap.add_argument("--plate-minutes", type=float, default=60.0)
    ap.add_argument("--plate-model", help="the plate reader's model (default: the one `--preset plate` trains)")
    ap.add_argument("--only", choices=("captcha", "plate"))
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    results = {}
    plans = [("captcha", a.captcha_minutes, [], a.captcha, lambda s: s),
             ("plate", a.plate_minutes, ["--model", a.plate_model] if a.plate_model else [], a.plates, plate_key)]
    for name, minutes, extra, real, key in plans:
        if a.only not in (None, name):
            continue
        results[name] = {"trained": train(a.work, name, minutes, extra)}
        if real is not None:
            results[name]["real"] = got = read_real(a.work / name, real, key)
            verdict = "PASS" if got["exact"] >= TARGETS[name] else "FAIL"
            print(f"{verdict}  {name}: {100 * got['exact']:.1f}% of {got['n']} real images read exactly (target "
                  f"{100 * TARGETS[name]:.0f}%)")
        else:
            print(f"{name}: no real set given; own validation: {results[name]['trained']['last']}")
    (a.work / "domains.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

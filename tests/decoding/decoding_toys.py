"""Small hand-made step functions and their NumPy twins for decoding tests.

Each toy exists twice: as a `step_fn` in `keras.ops` (what the searches
drive) and in plain NumPy (what the tests use to brute force and to
re-score). Reserved ids follow design.md: PAD 0, BOS 2, EOS 3.
"""

import itertools

import numpy as np
from keras import ops

PAD_ID = 0
BOS_ID = 2
EOS_ID = 3


def np_log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


class TableToy:
    """Logits depend on (sentence, step, previous token) only: a fixed random
    transition table `(batch, max_steps, V, V)` carried in the state so each
    sentence of a batch has its own model."""

    def __init__(self, batch, vocab, steps, seed=0, scale=2.0):
        rng = np.random.default_rng(seed)
        self.table = rng.normal(size=(batch, steps, vocab, vocab)) * scale
        self.table = self.table.astype("float32")
        self.vocab = vocab

    def initial_state(self, rows=None):
        table = self.table if rows is None else self.table[rows]
        return {"table": ops.convert_to_tensor(table)}

    @staticmethod
    def step_fn(token_ids, state, step):
        table = state["table"]  # (B, T, V, V)
        at_step = ops.take(table, step, axis=1)  # (B, V, V)
        index = ops.reshape(ops.cast(token_ids, "int32"), (-1, 1, 1))
        index = ops.broadcast_to(
            index, (ops.shape(at_step)[0], 1, at_step.shape[-1])
        )
        logits = ops.take_along_axis(at_step, index, axis=1)[:, 0]
        return logits, state, {}

    def np_log_probs(self, row, prefix, step):
        """log P(. | prefix) for sentence `row`; prefix excludes BOS."""
        prev = BOS_ID if step == 0 else prefix[step - 1]
        return np_log_softmax(self.table[row, step, prev])


class RnnToy:
    """A tiny attentional RNN: state h (B, H) and a source memory (B, S, H)
    with padding; records `alignment` (B, S) at each step (Luong-style dot
    attention, Luong et al. 2015 eqs. 7-8)."""

    def __init__(
        self,
        batch,
        vocab,
        hidden=6,
        source_length=5,
        seed=0,
        source_lengths=None,
    ):
        rng = np.random.default_rng(seed)
        self.vocab = vocab
        self.embedding = rng.normal(size=(vocab, hidden)).astype("float32")
        self.recurrent = (rng.normal(size=(hidden, hidden)) * 0.7).astype(
            "float32"
        )
        self.output = (rng.normal(size=(hidden, vocab)) * 2.0).astype("float32")
        self.step_bias = (rng.normal(size=(64, vocab))).astype("float32")
        self.memory = rng.normal(size=(batch, source_length, hidden)).astype(
            "float32"
        )
        if source_lengths is None:
            source_lengths = rng.integers(1, source_length + 1, size=batch)
        lengths = np.asarray(source_lengths)[:, None]
        self.source_mask = np.arange(source_length)[None, :] < lengths
        self.h0 = rng.normal(size=(batch, hidden)).astype("float32") * 0.5

    def initial_state(self, rows=None):
        sel = slice(None) if rows is None else rows
        return {
            "h": ops.convert_to_tensor(self.h0[sel]),
            "memory": ops.convert_to_tensor(self.memory[sel]),
            "mask": ops.convert_to_tensor(self.source_mask[sel]),
        }

    def step_fn(self, token_ids, state, step):
        h, memory, mask = state["h"], state["memory"], state["mask"]
        scores = ops.einsum("bsh,bh->bs", memory, h)
        scores = ops.where(mask, scores, -1e9)
        align = ops.softmax(scores, axis=-1)
        align = ops.where(mask, align, 0.0)
        context = ops.einsum("bs,bsh->bh", align, memory)
        emb = ops.take(
            ops.convert_to_tensor(self.embedding),
            ops.cast(token_ids, "int32"),
            axis=0,
        )
        h_new = ops.tanh(emb + ops.matmul(h, self.recurrent) + context)
        logits = (
            ops.matmul(h_new, self.output)
            + ops.take(ops.convert_to_tensor(self.step_bias), step, axis=0)[
                None, :
            ]
        )
        new_state = {"h": h_new, "memory": memory, "mask": mask}
        return logits, new_state, {"alignment": align}

    def np_run(self, row, tokens):
        """Feeds BOS + tokens; returns per-step log-probs (len+1? no: one per
        fed token) and alignments, as lists."""
        h = self.h0[row].astype(np.float64)
        mem = self.memory[row].astype(np.float64)
        mask = self.source_mask[row]
        outs, aligns = [], []
        prev = BOS_ID
        for step in range(len(tokens) + 1):
            s = mem @ h
            s = np.where(mask, s, -np.inf)
            a = np.exp(s - s[mask].max())
            a = np.where(mask, a, 0.0)
            a = a / a.sum()
            ctx = a @ mem
            h = np.tanh(self.embedding[prev] + h @ self.recurrent + ctx)
            logits = h @ self.output + self.step_bias[step]
            outs.append(np_log_softmax(logits))
            aligns.append(a)
            if step < len(tokens):
                prev = tokens[step]
        return outs, aligns

    def np_log_probs(self, row, prefix, step):
        outs, _ = self.np_run(row, list(prefix[:step]))
        return outs[step]


def np_sequence_log_prob(toy, row, tokens):
    """sum_j log P(y_j | y_<j) of a token list (EOS included if present)."""
    total = 0.0
    for step, tok in enumerate(tokens):
        total += toy.np_log_probs(row, tokens, step)[tok]
    return total


def np_greedy(toy, row, max_length, min_length=0):
    tokens = []
    for step in range(max_length):
        lp = toy.np_log_probs(row, tokens, step).copy()
        if step < min_length:
            lp[EOS_ID] = -np.inf
        tok = int(np.argmax(lp))
        tokens.append(tok)
        if tok == EOS_ID:
            break
    return tokens


def gnmt_lp(length, alpha):
    return ((5.0 + length) / 6.0) ** alpha


def brute_force_best(toy, row, max_length, alpha=0.0, min_length=0, beta=0.0):
    """Enumerates every EOS-terminated sequence of length <= max_length and
    returns (tokens, penalised score, log-prob), sorted best first."""
    vocab = toy.vocab
    others = [v for v in range(vocab) if v != EOS_ID]
    results = []
    for n in range(min_length, max_length):
        for body in itertools.product(others, repeat=n):
            tokens = list(body) + [EOS_ID]
            logp = np_sequence_log_prob(toy, row, tokens)
            score = logp / gnmt_lp(len(tokens), alpha)
            if beta:
                _, aligns = toy.np_run(row, tokens)
                cov = np.sum(aligns[: len(tokens)], axis=0)
                mask = toy.source_mask[row]
                score += beta * np.sum(
                    np.where(mask, np.log(np.clip(cov, 1e-10, 1.0)), 0.0)
                )
            results.append((tokens, score, logp))
    results.sort(key=lambda r: -r[1])
    return results


def np_beam_search(toy, row, max_length, beam_width, alpha=0.0, min_length=0):
    """Textbook beam search (Sutskever et al. 2014 sec. 3.2) in NumPy, no
    early stopping: expand every live prefix by its k best tokens, keep the
    k best of the k * k; a kept prefix ending in EOS is finished. Runs to
    max_length and
    returns the best finished (tokens, score, log-prob), or the best live
    prefix if none finished."""
    live = [([], 0.0)]
    finished = []
    for step in range(max_length):
        candidates = []
        for tokens, logp in live:
            lp = toy.np_log_probs(row, tokens, step).copy()
            if step < min_length:
                lp[EOS_ID] = -np.inf
            # Stable descending order, like top_k (ties: lower id first).
            best = np.argsort(-lp, kind="stable")[:beam_width]
            candidates += [(tokens + [int(t)], logp + lp[t]) for t in best]
        candidates.sort(key=lambda c: -c[1])  # stable
        kept = [c for c in candidates[:beam_width] if c[1] > -np.inf]
        live = []
        for tokens, logp in kept:
            if tokens[-1] == EOS_ID:
                finished.append(
                    (tokens, logp / gnmt_lp(len(tokens), alpha), logp)
                )
            else:
                live.append((tokens, logp))
        if not live:
            break
    if finished:
        return max(finished, key=lambda f: f[1])
    tokens, logp = max(live, key=lambda c: c[1])
    return tokens, logp / gnmt_lp(len(tokens), alpha), logp

"""Triton kernels of the Phased LSTM recurrence (imported only by ``triton_gpu.py``).

One program owns a tile of ``BLOCK_B`` batch rows and runs the whole time loop for them:
per step it computes every hidden tile's gate pre-activations (the input part, ``xp``,
precomputed for all steps; the recurrent part as tile products of the previous output
with ``w_hh``), the LSTM step, and the blend with the previous state by the openness
``k`` (precomputed for all steps), then a barrier before the next step reads the new
state. The backward runs the steps in reverse with the same tiling: the gate gradients of
a step, then (after a barrier) the gradient of the previous output as tile products of
those with ``w_hh``. No program waits for another: the batch rows are independent.

Layouts (all contiguous, float32): ``xp`` (T, B, 4H) in time order; ``k`` (T, B, H);
``w`` (4H, H), gate order input, forget, cell, output; ``hs``, ``cs`` (T + 1, B, H) in
step order (index 0: the initial state; index n + 1: after step n, which reads time
``T - 1 - n`` when ``REVERSE``); ``act`` (T, B, 4H) the gate activations, time order.
"""

import triton
import triton.language as tl


# written with tl.exp rather than triton's library functions, which are compiled kernels
# of the mode triton was first imported in: these follow the mode this module is loaded in
@triton.jit
def _sigmoid(x):
    return 1.0 / (1.0 + tl.exp(-x))


@triton.jit
def _tanh(x):
    return 2.0 * _sigmoid(2.0 * x) - 1.0


@triton.jit
def lstm_forward(
    xp_ptr,
    k_ptr,
    w_ptr,
    hs_ptr,
    cs_ptr,
    act_ptr,
    T,
    B,
    H,
    REVERSE: tl.constexpr,
    SAVE: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    rmask = rows < B
    for n in range(0, T):
        t = n
        if REVERSE:
            t = T - 1 - n
        for j0 in range(0, H, BLOCK_H):
            cols = j0 + tl.arange(0, BLOCK_H)
            cmask = cols < H
            m2 = rmask[:, None] & cmask[None, :]
            x_at = xp_ptr + t * B * 4 * H + rows[:, None] * 4 * H + cols[None, :]
            acc_i = tl.load(x_at, mask=m2, other=0.0)
            acc_f = tl.load(x_at + H, mask=m2, other=0.0)
            acc_g = tl.load(x_at + 2 * H, mask=m2, other=0.0)
            acc_o = tl.load(x_at + 3 * H, mask=m2, other=0.0)
            for k0 in range(0, H, BLOCK_K):
                ks = k0 + tl.arange(0, BLOCK_K)
                kmask = ks < H
                h_k = tl.load(
                    hs_ptr + n * B * H + rows[:, None] * H + ks[None, :],
                    mask=rmask[:, None] & kmask[None, :],
                    other=0.0,
                )
                # (BLOCK_K, BLOCK_H) tile of w^T: element [kk, jj] = w[gate * H + cols[jj], ks[kk]]
                w_at = w_ptr + cols[None, :] * H + ks[:, None]
                wm = kmask[:, None] & cmask[None, :]
                acc_i += tl.dot(h_k, tl.load(w_at, mask=wm, other=0.0), input_precision=PRECISION)
                acc_f += tl.dot(
                    h_k, tl.load(w_at + H * H, mask=wm, other=0.0), input_precision=PRECISION
                )
                acc_g += tl.dot(
                    h_k, tl.load(w_at + 2 * H * H, mask=wm, other=0.0), input_precision=PRECISION
                )
                acc_o += tl.dot(
                    h_k, tl.load(w_at + 3 * H * H, mask=wm, other=0.0), input_precision=PRECISION
                )
            i = _sigmoid(acc_i)
            f = _sigmoid(acc_f)
            g = _tanh(acc_g)
            o = _sigmoid(acc_o)
            state = rows[:, None] * H + cols[None, :]
            c_prev = tl.load(cs_ptr + n * B * H + state, mask=m2, other=0.0)
            h_prev = tl.load(hs_ptr + n * B * H + state, mask=m2, other=0.0)
            k_t = tl.load(k_ptr + t * B * H + state, mask=m2, other=0.0)
            c_tilde = f * c_prev + i * g
            h_tilde = o * _tanh(c_tilde)
            tl.store(cs_ptr + (n + 1) * B * H + state, c_prev + k_t * (c_tilde - c_prev), mask=m2)
            tl.store(hs_ptr + (n + 1) * B * H + state, h_prev + k_t * (h_tilde - h_prev), mask=m2)
            if SAVE:
                a_at = act_ptr + t * B * 4 * H + rows[:, None] * 4 * H + cols[None, :]
                tl.store(a_at, i, mask=m2)
                tl.store(a_at + H, f, mask=m2)
                tl.store(a_at + 2 * H, g, mask=m2)
                tl.store(a_at + 3 * H, o, mask=m2)
        tl.debug_barrier()  # the new state is read by every tile of the next step


@triton.jit
def lstm_backward(
    dout_ptr,
    k_ptr,
    w_ptr,
    hs_ptr,
    cs_ptr,
    act_ptr,
    dgates_ptr,
    dk_ptr,
    dh_ptr,
    dc_ptr,
    dh_tmp_ptr,
    T,
    B,
    H,
    REVERSE: tl.constexpr,
    PRECISION: tl.constexpr,
    BLOCK_B: tl.constexpr,
    BLOCK_H: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_B + tl.arange(0, BLOCK_B)
    rmask = rows < B
    for m in range(0, T):
        n = T - 1 - m
        t = n
        if REVERSE:
            t = T - 1 - n
        # the gate gradients of step n, and the parts of dh, dc that do not need w_hh
        for j0 in range(0, H, BLOCK_H):
            cols = j0 + tl.arange(0, BLOCK_H)
            cmask = cols < H
            m2 = rmask[:, None] & cmask[None, :]
            state = rows[:, None] * H + cols[None, :]
            dh = tl.load(dh_ptr + state, mask=m2, other=0.0)
            dh += tl.load(dout_ptr + t * B * H + state, mask=m2, other=0.0)
            dc = tl.load(dc_ptr + state, mask=m2, other=0.0)
            a_at = act_ptr + t * B * 4 * H + rows[:, None] * 4 * H + cols[None, :]
            i = tl.load(a_at, mask=m2, other=0.0)
            f = tl.load(a_at + H, mask=m2, other=0.0)
            g = tl.load(a_at + 2 * H, mask=m2, other=0.0)
            o = tl.load(a_at + 3 * H, mask=m2, other=0.0)
            c_prev = tl.load(cs_ptr + n * B * H + state, mask=m2, other=0.0)
            h_prev = tl.load(hs_ptr + n * B * H + state, mask=m2, other=0.0)
            k_t = tl.load(k_ptr + t * B * H + state, mask=m2, other=0.0)
            c_tilde = f * c_prev + i * g
            tanh_c = _tanh(c_tilde)
            h_tilde = o * tanh_c
            d_k = dh * (h_tilde - h_prev) + dc * (c_tilde - c_prev)
            tl.store(dk_ptr + t * B * H + state, d_k, mask=m2)
            d_ht = dh * k_t
            d_ct = dc * k_t + d_ht * o * (1.0 - tanh_c * tanh_c)
            g_at = dgates_ptr + t * B * 4 * H + rows[:, None] * 4 * H + cols[None, :]
            tl.store(g_at, d_ct * g * i * (1.0 - i), mask=m2)
            tl.store(g_at + H, d_ct * c_prev * f * (1.0 - f), mask=m2)
            tl.store(g_at + 2 * H, d_ct * i * (1.0 - g * g), mask=m2)
            tl.store(g_at + 3 * H, d_ht * tanh_c * o * (1.0 - o), mask=m2)
            tl.store(dc_ptr + state, dc * (1.0 - k_t) + d_ct * f, mask=m2)
            tl.store(dh_tmp_ptr + state, dh * (1.0 - k_t), mask=m2)
        tl.debug_barrier()
        # dh of the previous output: the direct part plus d_gates @ w_hh
        for j0 in range(0, H, BLOCK_H):
            cols = j0 + tl.arange(0, BLOCK_H)
            cmask = cols < H
            m2 = rmask[:, None] & cmask[None, :]
            state = rows[:, None] * H + cols[None, :]
            acc = tl.load(dh_tmp_ptr + state, mask=m2, other=0.0)
            for q in range(0, 4 * H, BLOCK_K):  # the four gate blocks, BLOCK_K rows at a time
                qs = q + tl.arange(0, BLOCK_K)
                qmask = qs < 4 * H
                d_g = tl.load(
                    dgates_ptr + t * B * 4 * H + rows[:, None] * 4 * H + qs[None, :],
                    mask=rmask[:, None] & qmask[None, :],
                    other=0.0,
                )
                w_tile = tl.load(
                    w_ptr + qs[:, None] * H + cols[None, :],
                    mask=qmask[:, None] & cmask[None, :],
                    other=0.0,
                )
                acc += tl.dot(d_g, w_tile, input_precision=PRECISION)
            tl.store(dh_ptr + state, acc, mask=m2)
        tl.debug_barrier()

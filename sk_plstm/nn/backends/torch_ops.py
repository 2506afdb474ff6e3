"""``"torch"``: whole-sequence recurrences in torch operations with a hand-written backward.

For any device and dtype. The time gate is computed for all steps at once under autograd
(:meth:`~sk_plstm.nn.PhasedCellBase.openness`) and the input projection for all steps in
one product; the loop then runs one matrix product and a few elementwise operations per
step, and the backward returns the gradient of the openness, which autograd carries to
``tau``, ``shift`` and ``r_on``. The backward stores the gate activations instead of
recomputing them.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from .._cell import PhasedGRUCell, PhasedLSTMCell
from .._events import project
from ._registry import Backend, register


class _TorchRecurrence(torch.autograd.Function):
    """The Phased LSTM recurrence: ``(xp, k, w_hh, h0, c0, reverse) -> (out, h_n, c_n)``."""

    @staticmethod
    def forward(ctx, xp, k, w_hh, h0, c0, reverse):
        steps, _, four_h = xp.shape
        hidden = four_h // 4
        save = any(ctx.needs_input_grad[:5])
        out = xp.new_empty(steps, xp.shape[1], hidden)
        act = xp.new_empty(xp.shape) if save else None
        c_tilde_all = xp.new_empty(out.shape) if save else None
        c_all = xp.new_empty(out.shape) if save else None
        w_t = w_hh.t()
        h, c = h0, c0
        for n in range(steps):
            t = steps - 1 - n if reverse else n
            gates = torch.addmm(xp[t], h, w_t)
            a = torch.sigmoid(gates) if act is None else torch.sigmoid(gates, out=act[t])
            a[:, 2 * hidden : 3 * hidden] = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
            i, f, g, o = a.chunk(4, dim=1)
            c_tilde = torch.addcmul(f * c, i, g)
            h_tilde = o * torch.tanh(c_tilde)
            c = torch.lerp(c, c_tilde, k[t])
            h = torch.lerp(h, h_tilde, k[t])
            out[t] = h
            if save:
                c_tilde_all[t] = c_tilde
                c_all[t] = c
        if save:
            ctx.save_for_backward(k, w_hh, h0, c0, out, act, c_tilde_all, c_all)
            ctx.reverse = reverse
        return out, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        k, w_hh, h0, c0, out, act, c_tilde_all, c_all = ctx.saved_tensors
        steps, hidden = out.shape[0], out.shape[2]
        reverse = ctx.reverse
        d_gates = torch.empty_like(act)
        d_k = torch.empty_like(k)
        dh, dc = d_hn, d_cn
        for n in range(steps - 1, -1, -1):
            t = steps - 1 - n if reverse else n
            t_prev = t + 1 if reverse else t - 1
            h_prev = h0 if n == 0 else out[t_prev]
            c_prev = c0 if n == 0 else c_all[t_prev]
            dh = dh + d_out[t]
            i, f, g, o = act[t].chunk(4, dim=1)
            c_tilde = c_tilde_all[t]
            tanh_c = torch.tanh(c_tilde)
            h_tilde = o * tanh_c
            k_t = k[t]
            d_k[t] = dh * (h_tilde - h_prev) + dc * (c_tilde - c_prev)
            d_ht = dh * k_t
            d_ct = dc * k_t + d_ht * o * (1 - tanh_c * tanh_c)
            torch.cat(
                (
                    d_ct * g * i * (1 - i),
                    d_ct * c_prev * f * (1 - f),
                    d_ct * i * (1 - g * g),
                    d_ht * tanh_c * o * (1 - o),
                ),
                dim=1,
                out=d_gates[t],
            )
            one_minus_k = 1 - k_t
            dc = dc * one_minus_k + d_ct * f
            dh = torch.addmm(dh * one_minus_k, d_gates[t], w_hh)
        d_w = d_gates.reshape(-1, 4 * hidden).t().mm(_previous(out, h0, reverse))
        return d_gates, d_k, d_w, dh, dc, None


class _TorchGRURecurrence(torch.autograd.Function):
    """The Phased GRU recurrence: ``(xp, k, w_hh, b_hh, h0, reverse) -> (out, h_n)``.

    ``b_hh`` stays apart from the input projection: the reset gate multiplies the
    recurrent part of the candidate, bias included, as in ``torch.nn.GRU``.
    """

    @staticmethod
    def forward(ctx, xp, k, w_hh, b_hh, h0, reverse):
        steps, batch, three_h = xp.shape
        hidden = three_h // 3
        save = any(ctx.needs_input_grad[:5])
        out = xp.new_empty(steps, batch, hidden)
        act = xp.new_empty(xp.shape) if save else None  # r, z, n
        hn_all = xp.new_empty(out.shape) if save else None  # W_hn h + b_hn
        w_t = w_hh.t()
        h = h0
        for step in range(steps):
            t = steps - 1 - step if reverse else step
            gh = torch.addmm(b_hh, h, w_t)
            rz = torch.sigmoid(xp[t, :, : 2 * hidden] + gh[:, : 2 * hidden])
            r, z = rz[:, :hidden], rz[:, hidden:]
            h_n = gh[:, 2 * hidden :]
            n = torch.tanh(torch.addcmul(xp[t, :, 2 * hidden :], r, h_n))
            h = torch.lerp(h, torch.lerp(n, h, z), k[t])
            out[t] = h
            if save:
                act[t, :, : 2 * hidden] = rz
                act[t, :, 2 * hidden :] = n
                hn_all[t] = h_n
        if save:
            ctx.save_for_backward(k, w_hh, h0, out, act, hn_all)
            ctx.reverse = reverse
        return out, h

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn):
        k, w_hh, h0, out, act, hn_all = ctx.saved_tensors
        steps, hidden = out.shape[0], out.shape[2]
        reverse = ctx.reverse
        d_x = torch.empty_like(act)  # gradient of the input projection
        d_gh = torch.empty_like(act)  # gradient of W_hh h + b_hh
        d_k = torch.empty_like(k)
        dh = d_hn
        for step in range(steps - 1, -1, -1):
            t = steps - 1 - step if reverse else step
            t_prev = t + 1 if reverse else t - 1
            h_prev = h0 if step == 0 else out[t_prev]
            dh = dh + d_out[t]
            r, z, n = act[t].chunk(3, dim=1)
            h_tilde = torch.lerp(n, h_prev, z)
            k_t = k[t]
            d_k[t] = dh * (h_tilde - h_prev)
            d_ht = dh * k_t
            d_n = d_ht * (1 - z) * (1 - n * n)
            d_r = d_n * hn_all[t] * r * (1 - r)
            d_z = d_ht * (h_prev - n) * z * (1 - z)
            torch.cat((d_r, d_z, d_n), dim=1, out=d_x[t])
            torch.cat((d_r, d_z, d_n * r), dim=1, out=d_gh[t])
            dh = torch.addmm(dh * (1 - k_t) + d_ht * z, d_gh[t], w_hh)
        d_w = d_gh.reshape(-1, 3 * hidden).t().mm(_previous(out, h0, reverse))
        return d_x, d_k, d_w, d_gh.sum(dim=(0, 1)), dh, None


def _previous(out: torch.Tensor, h0: torch.Tensor, reverse: bool) -> torch.Tensor:
    """The state before every step, as one (steps * batch, hidden) matrix."""
    first = h0.unsqueeze(0)
    before = torch.cat((out[1:], first) if reverse else (first, out[:-1]))[: out.shape[0]]
    return before.reshape(-1, out.shape[2])


def summed_bias(cell) -> torch.Tensor | None:
    """``bias_ih + bias_hh`` of a cell, or None without biases."""
    return None if cell.bias_ih is None else cell.bias_ih + cell.bias_hh


def bias_or_zeros(bias: torch.Tensor | None, rows: int, like: torch.Tensor) -> torch.Tensor:
    """``bias``, or zeros of ``rows`` entries (dtype and device of ``like``) without one."""
    return bias if bias is not None else like.new_zeros(rows)


def lstm_inputs(cell, x, times, mask) -> tuple[torch.Tensor, torch.Tensor]:
    """What a Phased LSTM recurrence starts from, for all steps at once.

    The input projection with both biases, ``(steps, batch, 4 * hidden)``, and the openness
    of every step, ``(steps, batch, hidden)`` (under autograd: its gradient reaches the gate
    parameters), both contiguous; the torch and Triton recurrences take them.
    """
    xp = project(x, cell.weight_ih, summed_bias(cell))
    return xp.contiguous(), cell.openness(times, mask).contiguous()


def gru_inputs(cell, x, times, mask) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """What a Phased GRU recurrence starts from, for all steps at once.

    The input projection with ``bias_ih`` ``(steps, batch, 3 * hidden)``, the openness
    ``(steps, batch, hidden)`` and ``bias_hh`` (zeros without biases), which stays apart
    because the reset gate multiplies the recurrent part; the torch and kernel
    recurrences take them.
    """
    b_hh = bias_or_zeros(cell.bias_hh, 3 * cell.hidden_size, x)
    return cell.project_input(x).contiguous(), cell.openness(times, mask).contiguous(), b_hh


def run_lstm(cell, x, times, mask, state, reverse):
    """Run a :class:`~sk_plstm.nn.PhasedLSTMCell` (shapes as in ``Backend.run``)."""
    xp, k = lstm_inputs(cell, x, times, mask)
    out, h, c = _TorchRecurrence.apply(xp, k, cell.weight_hh, *state, reverse)
    return out, (h, c)


def run_gru(cell, x, times, mask, state, reverse):
    """Run a :class:`~sk_plstm.nn.PhasedGRUCell` (shapes as in ``Backend.run``)."""
    xp, k, b_hh = gru_inputs(cell, x, times, mask)
    out, h = _TorchGRURecurrence.apply(xp, k, cell.weight_hh, b_hh, state[0], reverse)
    return out, (h,)


register(Backend("torch", PhasedLSTMCell, run_lstm, priority=10))
register(Backend("torch", PhasedGRUCell, run_gru, priority=10))

// Fused Phased LSTM recurrence for the CPU (and, at the end, the Phased GRU's): one matrix
// product and one fused elementwise pass (LSTM gates, time gate, blend) per step, run by a
// team of threads that own blocks of hidden units, with a hand-written backward that reads
// the gate activations the forward pass kept (or recomputes them beyond kSaveBytes).
//
// Layout: time-major. x (T, B, C); times (T, B); mask (T, B) float, or an empty tensor
// when every step is valid; w (4H, H + C) = [w_hh | w_ih] and bias (4H) (= b_ih + b_hh),
// gate order input, forget, cell, output; tau, shift, r_on (H); h0, c0 (B, H).
// Input by index (events given as channel indices): the caller gathers the input
// projection xp (T, B, 4H, gate order of w) itself, and x is (T, B, 0) with w = w_hh;
// xp is added to the gates' pre-activations and the backward pass returns its gradient.
// The phase is computed in the dtype of `times` (float or double) exactly as
// sk_plstm.nn.time_gate does; everything else is float32.
#include <torch/extension.h>

#include <ATen/Parallel.h>

#include <dlfcn.h>
#include <sys/mman.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <vector>
#ifdef __FMA__
#include <immintrin.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

// A new tensor whose large pages the kernel may back with transparent huge pages (where
// the system gives them on request): the first write to a fresh buffer of a few hundred
// megabytes (a long sequence's activations) otherwise faults in every 4 KiB page, which
// measured 75 ms per 164 MB against 10 ms for writing it again.
torch::Tensor large(at::IntArrayRef sizes, const torch::TensorOptions& opts) {
  auto t = torch::empty(sizes, opts);
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const auto begin = reinterpret_cast<uintptr_t>(t.data_ptr());
  const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t last = (begin + t.nbytes()) & ~(kHuge - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
#endif
  return t;
}

// exp, sigmoid and tanh written so that the compiler vectorises the loops that use them:
// exp(x) = 2^n p(r), with n = round(x / ln 2), r = x - n ln 2 (two-part ln 2) and p the
// degree-7 Taylor polynomial (relative error below 1e-8 on |r| <= ln(2) / 2).
inline float exp_v(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  const float n = std::floor(x * 1.44269504088896341f + 0.5f);
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187045e-06f;
  float p = 1.0f / 5040.0f;
  p = p * r + 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

inline float sigmoid_v(float x) { return 1.0f / (1.0f + exp_v(-x)); }

inline float tanh_v(float x) { return 2.0f / (1.0f + exp_v(-2.0f * x)) - 1.0f; }

// The time gate at one (time, unit), as sk_plstm.nn.time_gate computes it:
// phi = ((t - s) mod tau) / tau in the phase dtype P, then in float32
// k = 2 phi / r while phi < r / 2, 2 - 2 phi / r while phi < r, leak phi otherwise;
// times `valid` (0 at padded steps). Also gives dk/dphi and dk/dr.
template <typename P>
struct Gate {
  float k, dk_dphi, dk_dr;
};

template <typename P>
inline Gate<P> gate_at(P t, P tau, P inv_tau, P s, float r, float leak, float valid) {
  const P a = t - s;
  P rem = a - tau * std::floor(a * inv_tau);
  rem = rem < P(0) ? rem + tau : rem;
  rem = rem >= tau ? rem - tau : rem;
  const float phi = static_cast<float>(rem * inv_tau);
  const float rising = 2.0f * phi / r;
  const bool up = phi < 0.5f * r;
  const bool open = phi < r;
  Gate<P> g;
  g.k = valid * (open ? (up ? rising : 2.0f - rising) : leak * phi);
  g.dk_dphi = valid * (open ? (up ? 2.0f / r : -2.0f / r) : leak);
  g.dk_dr = valid * (open ? (up ? -rising / r : rising / r) : 0.0f);
  return g;
}

inline int64_t grain_rows(int64_t width) { return std::max<int64_t>(1, 16384 / std::max<int64_t>(width, 1)); }

template <typename P>
struct GateParams {
  std::vector<P> tau, inv_tau, shift;
  const float* r_on;
  float leak;
  GateParams(const torch::Tensor& tau_t, const torch::Tensor& shift_t, const torch::Tensor& r_t, double leak_d)
      : r_on(r_t.data_ptr<float>()), leak(static_cast<float>(leak_d)) {
    const int64_t H = tau_t.numel();
    const float* tp = tau_t.data_ptr<float>();
    const float* sp = shift_t.data_ptr<float>();
    tau.resize(H);
    inv_tau.resize(H);
    shift.resize(H);
    for (int64_t j = 0; j < H; ++j) {
      tau[j] = static_cast<P>(tp[j]);
      inv_tau[j] = P(1) / tau[j];
      shift[j] = static_cast<P>(sp[j]);
    }
  }
};

// The LSTM gate activations of one batch row, in place over its pre-activations g (4H):
// sigmoid, except tanh for the cell candidate (the third block of H), with
// tanh(x) = 2 sigmoid(2x) - 1.
inline void activate_row(float* __restrict__ g, int64_t H) {
  for (int64_t j = 0; j < 4 * H; ++j) {
    const float m = (j >= 2 * H && j < 3 * H) ? 2.0f : 1.0f;
    g[j] = m * sigmoid_v(m * g[j]) - (m - 1.0f);
  }
}

// ------------------------------------------------ products and the threads of a sequence
// The per-step products call the BLAS that torch links (MKL's sgemm_, found at run time)
// directly: torch's dispatcher costs a few microseconds per call, as much as a whole
// small step. Without it (another BLAS, or SK_PLSTM_KERNEL_BLAS=0) a plain loop runs.
using SgemmFn = void (*)(const char*, const char*, const int*, const int*, const int*,
                         const float*, const float*, const int*, const float*, const int*,
                         const float*, float*, const int*);

// A function of the BLAS that torch links (MKL's, on the usual builds), or null.
void* blas_symbol(const char* name) {
  const char* env = std::getenv("SK_PLSTM_KERNEL_BLAS");
  if (env != nullptr && std::strcmp(env, "0") == 0) return nullptr;
  void* symbol = dlsym(RTLD_DEFAULT, name);
  if (symbol == nullptr) {
    void* torch_cpu = dlopen("libtorch_cpu.so", RTLD_LAZY | RTLD_NOLOAD);
    if (torch_cpu != nullptr) symbol = dlsym(torch_cpu, name);
  }
  return symbol;
}

// MKL's per-thread thread count (returns the previous one), to keep its small products
// on one thread while a sequence runs on one thread: a parallel region per product costs
// more than the product at these sizes.
using MklThreadsFn = int (*)(int);
const MklThreadsFn mkl_threads_local =
    reinterpret_cast<MklThreadsFn>(blas_symbol("MKL_Set_Num_Threads_Local"));

const SgemmFn sgemm_fn = reinterpret_cast<SgemmFn>(blas_symbol("sgemm_"));

// a * b + c, fused where the CPU has FMA: the same rounding in vectorised and scalar code
inline float muladd(float a, float b, float c) {
#ifdef __FMA__
  return std::fma(a, b, c);
#else
  return a * b + c;
#endif
}

// Dot product with 16 independent partial sums, so that it vectorises without
// reassociation flags.
inline float dot(const float* __restrict__ a, const float* __restrict__ b, int64_t n) {
  float part[16] = {0.0f};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) part[l] += a[i + l] * b[i + l];
  float sum = 0.0f;
  for (int l = 0; l < 16; ++l) sum += part[l];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// Row-major C (M x N, ldc) = op(A) (M x K) op(B) (K x N) + beta C, where op(A) is A
// (lda) or, with ta, the transpose of a stored (K x M) A; likewise B. Called from inside
// the kernel's parallel region, the BLAS runs on the calling thread.
inline void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda,
                 const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (M <= 0 || N <= 0) return;
  if (sgemm_fn != nullptr && K > 0) {
    // column-major: C^T = op(B)^T op(A)^T
    const int m = static_cast<int>(N), n = static_cast<int>(M), k = static_cast<int>(K);
    const int la = static_cast<int>(lda), lb = static_cast<int>(ldb), lc = static_cast<int>(ldc);
    const float one = 1.0f;
    const char opb = tb ? 'T' : 'N', opa = ta ? 'T' : 'N';
    sgemm_fn(&opb, &opa, &m, &n, &k, &one, B, &lb, A, &la, &beta, C, &lc);
    return;
  }
  for (int64_t i = 0; i < M; ++i) {
    float* __restrict__ c = C + i * ldc;
    for (int64_t j = 0; j < N; ++j) c[j] = beta == 0.0f ? 0.0f : beta * c[j];
    for (int64_t l = 0; l < K; ++l) {
      const float a = ta ? A[l * lda + i] : A[i * lda + l];
      if (tb) {
        for (int64_t j = 0; j < N; ++j) c[j] += a * B[j * ldb + l];
      } else {
        const float* __restrict__ b = B + l * ldb;
        for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
      }
    }
  }
}

#ifdef _OPENMP
inline int thread_id() { return omp_get_thread_num(); }
inline int team_size() { return omp_get_num_threads(); }
#else
inline int thread_id() { return 0; }
inline int team_size() { return 1; }
#endif

// Runs body(p, team) on a team of up to n threads (thread p of `team`; the body meets the
// others at `omp barrier`s). One thread runs it outside any parallel region, so that the
// BLAS may use its own threads there (inside an inactive region, GNU OpenMP would start
// fresh threads for each of its parallel products).
template <typename F>
void run_team(const int n, const F& body) {
  if (n <= 1) {
    const int previous = mkl_threads_local != nullptr ? mkl_threads_local(1) : 0;
    body(0, 1);
    if (mkl_threads_local != nullptr) mkl_threads_local(previous);
    return;
  }
#pragma omp parallel
  body(thread_id(), std::min(team_size(), n));
}

//: a thread takes part while each of the team gets at least this many multiply-adds per
//: step (below it, a barrier per step costs more than the work it shares)
constexpr int64_t kWorkPerThread = 1 << 14;

//: units per block (the unit of work of a thread; below)
constexpr int64_t kBlock = 32;

//: multiply-adds per thread below which the event-driven path runs on fewer threads
constexpr int64_t kSparseWork = int64_t(1) << 19;

//: rows (step, sample) per block of the input gradient's product
constexpr int64_t kRowBlock = 64;

//: the forward pass keeps the gate activations for the backward pass while they take at
//: most this many bytes; beyond, the backward pass recomputes them
constexpr int64_t kSaveBytes = int64_t(256) << 20;

// The number of blocks of kBlock units in H (the last one may be shorter).
inline int64_t blocks_of(int64_t H) { return (H + kBlock - 1) / kBlock; }

// How many threads run a sequence of batch B, hidden H and H + C = HC columns: torch's
// intra-op thread count, fewer for small steps.
inline int threads_for(int64_t B, int64_t H, int64_t HC) {
  const int64_t by_work = std::max<int64_t>(1, B * 4 * H * HC / kWorkPerThread);
  return static_cast<int>(std::min<int64_t>({at::get_num_threads(), by_work, blocks_of(H)}));
}

// The units are cut into blocks of kBlock (the last one may be shorter), and every
// product and sum of the kernel is made per block, in the same shapes and the same order
// whatever the number of threads: a model trained with 1 or 16 threads is the same to
// the bit. A thread owns a slice of whole blocks, [j0, j1).
struct Slice {
  int64_t j0, j1;
  int64_t size() const { return j1 - j0; }
};

inline Slice slice_of(int64_t H, int p, int n) {
  const int64_t blocks = blocks_of(H);
  return {std::min(H, blocks * p / n * kBlock), std::min(H, blocks * (p + 1) / n * kBlock)};
}

// The rows of w in the order of the blocks: block [jb, jb + Jb) gets rows 4 jb .. 4 (jb +
// Jb) of the reordered weight, as four groups (input, forget, cell, output gate) of Jb
// rows, so that the gates of a block are one product with consecutive rows.
torch::Tensor unit_order(int64_t H) {
  auto order = torch::empty({4 * H}, torch::kInt64);
  int64_t* o = order.data_ptr<int64_t>();
  int64_t next = 0;
  for (int64_t jb = 0; jb < H; jb += kBlock)
    for (int64_t q = 0; q < 4; ++q)
      for (int64_t j = jb; j < std::min(H, jb + kBlock); ++j) o[next++] = q * H + j;
  return order;
}

// w and bias with their rows in unit_order, and that order (to put gradients back).
struct BlockedWeights {
  torch::Tensor order, w, bias;
};

inline BlockedWeights blocked(const torch::Tensor& w, const torch::Tensor& bias, int64_t H) {
  auto order = unit_order(H);
  return {order, w.index_select(0, order).contiguous(), bias.index_select(0, order).contiguous()};
}

// Calls f(jb, Jb) for each block of units in [j0, j1).
template <typename F>
inline void for_blocks(int64_t j0, int64_t j1, const F& f) {
  for (int64_t jb = j0; jb < j1; jb += kBlock) f(jb, std::min(kBlock, j1 - jb));
}

// The time-gate parameters of the units from j0 on.
template <typename P>
struct Units {
  const P* tau;
  const P* inv_tau;
  const P* shift;
  const float* r_on;
  float leak;
};

template <typename P>
inline Units<P> units_from(const GateParams<P>& gp, int64_t j0) {
  return {gp.tau.data() + j0, gp.inv_tau.data() + j0, gp.shift.data() + j0, gp.r_on + j0, gp.leak};
}

// The LSTM gate activations of J units of one batch row, in place over their
// pre-activations g (four blocks of J) plus their biases: sigmoid, except tanh for the
// cell candidate (the third block), with tanh(x) = 2 sigmoid(2x) - 1.
inline void activate_units(float* __restrict__ g, const float* __restrict__ bias, int64_t J) {
  for (int64_t j = 0; j < 4 * J; ++j) {
    const float m = (j >= 2 * J && j < 3 * J) ? 2.0f : 1.0f;
    g[j] = m * sigmoid_v(m * (g[j] + bias[j])) - (m - 1.0f);
  }
}

// J units of one batch row in one step: the activations a (four blocks of J), the
// previous h (hprev) -> the new h (hnew, may be hprev) and c (in place); the output row
// gets h. With SAVE, the new c is also stored for the backward pass.
template <typename P, bool SAVE>
inline void forward_row(const float* __restrict__ a, const float* hprev, float* hnew,
                        float* __restrict__ cr, float* __restrict__ orow, float* __restrict__ csr,
                        const Units<P>& u, P tb, float valid, int64_t J) {
  for (int64_t j = 0; j < J; ++j) {
    const float c_prev = cr[j];
    const float h_prev = hprev[j];
    const float ct = a[J + j] * c_prev + a[j] * a[2 * J + j];
    const float ht = a[3 * J + j] * tanh_v(ct);
    const float k = gate_at<P>(tb, u.tau[j], u.inv_tau[j], u.shift[j], u.r_on[j], u.leak, valid).k;
    const float c_new = c_prev + k * (ct - c_prev);
    const float h_new = h_prev + k * (ht - h_prev);
    cr[j] = c_new;
    hnew[j] = h_new;
    orow[j] = h_new;
    if (SAVE) csr[j] = c_new;
  }
}

// Adds the input projection of J units of one sample to their pre-activations a (four
// blocks of J): xp_row is the sample's row of xp at the first unit (the gates H apart).
inline void add_projection(float* __restrict__ a, const float* __restrict__ xp_row, int64_t H,
                           int64_t J) {
  for (int64_t q = 0; q < 4; ++q)
    for (int64_t j = 0; j < J; ++j) a[q * J + j] += xp_row[q * H + j];
}

// One block of Jb units of one sample in one step, both modes: its pre-activations a
// (four blocks of Jb), plus their input projection where xp_row is given
// (add_projection), made the activations in place with their biases, and kept in
// acts_row (the sample's row of the activations, gate-major over H, at the block's
// first unit) where given; then forward_row, which also stores the new c in csr where
// given.
template <typename P>
inline void forward_block(float* a, const float* bias, const float* xp_row, float* acts_row,
                          int64_t H, const float* hprev, float* hnew, float* cr, float* orow,
                          float* csr, const Units<P>& u, P tb, float valid, int64_t Jb) {
  if (xp_row != nullptr) add_projection(a, xp_row, H, Jb);
  activate_units(a, bias, Jb);
  if (acts_row != nullptr)
    for (int64_t q = 0; q < 4; ++q)
      std::memcpy(acts_row + q * H, a + q * Jb, Jb * sizeof(float));
  if (csr != nullptr) {
    forward_row<P, true>(a, hprev, hnew, cr, orow, csr, u, tb, valid, Jb);
  } else {
    forward_row<P, false>(a, hprev, hnew, cr, orow, nullptr, u, tb, valid, Jb);
  }
}

// The outputs of a forward pass of T steps of B samples: out (T, B, H) and, with `save`,
// the cell states (T, B, H) and the gate activations (T, B, 4H) while they take at most
// kSaveBytes (an empty tensor otherwise; `keep` says which).
struct ForwardOutputs {
  torch::Tensor out, cs, acts;
  bool keep;
  ForwardOutputs(const torch::TensorOptions& opts, int64_t T, int64_t B, int64_t H, bool save)
      : out(large({T, B, H}, opts)),
        cs(save ? large({T, B, H}, opts) : torch::Tensor()),
        acts(),
        keep(save && T * B * 4 * H * int64_t(sizeof(float)) <= kSaveBytes) {
    acts = keep ? large({T, B, 4 * H}, opts) : torch::empty({0}, opts);
  }
};

// Forward pass. x (T, B, C); w (4H, H + C) = [w_hh | w_ih]; bias (4H). One parallel
// region runs the whole sequence: each thread owns whole blocks of hidden units (their
// rows of w, their cell state), computes their gates with one product [h | x_t] @ w^T
// per block and step and their states with one fused pass, and the threads meet at one barrier
// per step (the next product needs every unit's h). [h | x] is double-buffered. Returns
// out, h_n, c_n and, with `save`, the cell states (T, B, H) and the gate activations
// (T, B, 4H, gate order of w) for the backward pass; the activations only while they take
// at most kSaveBytes (an empty tensor otherwise: the backward pass then recomputes them,
// one more product per step, so that long sequences of large batches fit in memory).
template <typename P>
std::vector<torch::Tensor> forward_impl(torch::Tensor x, torch::Tensor xp, torch::Tensor times,
                                        torch::Tensor mask, const BlockedWeights& wb,
                                        torch::Tensor tau, torch::Tensor shift, torch::Tensor r_on,
                                        double leak, torch::Tensor h0, torch::Tensor c0,
                                        bool reverse, bool save) {
  const int64_t T = x.size(0), B = x.size(1), C = x.size(2), H = h0.size(1), HC = H + C;
  const GateParams<P> gp(tau, shift, r_on, leak);
  const int n_threads = threads_for(B, H, HC);
  auto opts = x.options();
  ForwardOutputs fo(opts, T, B, H, save);
  auto &out = fo.out, &cs = fo.cs, &acts = fo.acts;
  const bool keep = fo.keep;
  float* const acts_p = acts.data_ptr<float>();
  auto hx = torch::empty({2, B, HC}, opts);  // [h | x_t], double-buffered
  hx[0].narrow(1, 0, H).copy_(h0);
  if (T > 0) hx[0].narrow(1, H, C).copy_(x[reverse ? T - 1 : 0]);
  auto c = c0.clone();
  auto gates = torch::empty({B, 4 * H}, opts);
  const bool has_mask = mask.numel() > 0;
  const P* tp = times.data_ptr<P>();
  const float* mp = has_mask ? mask.data_ptr<float>() : nullptr;
  const float* const x_p = x.data_ptr<float>();
  const float* const w_p = wb.w.data_ptr<float>();
  const float* const b_p = wb.bias.data_ptr<float>();
  float* const out_p = out.data_ptr<float>();
  float* const cs_p = save ? cs.data_ptr<float>() : nullptr;
  float* const hx_p = hx.data_ptr<float>();
  float* const c_p = c.data_ptr<float>();
  float* const g_p = gates.data_ptr<float>();
  const float* const xp_p = xp.numel() > 0 ? xp.data_ptr<float>() : nullptr;
  auto body = [&](const int p, const int team) {
    const Slice s = p < team ? slice_of(H, p, team) : Slice{0, 0};
    const int64_t j0 = s.j0;
    for (int64_t n = 0; n < T; ++n) {
      const int64_t t = reverse ? T - 1 - n : n;
      const float* cur = hx_p + (n & 1) * B * HC;
      float* next = hx_p + ((n + 1) & 1) * B * HC;
      for_blocks(j0, s.j1, [&](int64_t jb, int64_t Jb) {
        gemm(false, true, B, 4 * Jb, HC, cur, HC, w_p + 4 * jb * HC, HC, 0.0f, g_p + 4 * jb, 4 * H);
      });
      for (int64_t b = 0; b < B; ++b) {
        const int64_t row = t * B + b;
        const float valid = has_mask ? mp[row] : 1.0f;
        for_blocks(j0, s.j1, [&](int64_t jb, int64_t Jb) {
          forward_block<P>(g_p + b * 4 * H + 4 * jb, b_p + 4 * jb,
                           xp_p != nullptr ? xp_p + row * 4 * H + jb : nullptr,
                           keep ? acts_p + row * 4 * H + jb : nullptr, H, cur + b * HC + jb,
                           next + b * HC + jb, c_p + b * H + jb, out_p + row * H + jb,
                           save ? cs_p + row * H + jb : nullptr, units_from(gp, jb), tp[row],
                           valid, Jb);
        });
      }
      if (p == 0 && n + 1 < T) {  // the next step's inputs
        const int64_t t_next = reverse ? t - 1 : t + 1;
        for (int64_t b = 0; b < B; ++b)
          std::memcpy(next + b * HC + H, x_p + (t_next * B + b) * C, C * sizeof(float));
      }
#pragma omp barrier
    }
  };
  run_team(n_threads, body);
  auto h = hx[T & 1].narrow(1, 0, H).contiguous();
  if (save) return {out, h, c, cs, acts};
  return {out, h, c};
}

// J units of one batch row in one backward step, from the gate activations a (four
// blocks of J, `as` apart). Reads the gradient dh of h_t (d_hr; the output gradient dout of
// this step is added) and dc; writes the gate gradients dg (four blocks of J), dc (in
// place, now for c_{t-1}) and dh (1 - k) (in place over d_hr: the direct part of the
// gradient of h_{t-1}, to which the caller adds dg @ w_hh), and adds the gradients of
// tau, shift and r_on of these units into their double sums.
template <typename P>
inline void backward_row(const float* __restrict__ a, int64_t as, const float* __restrict__ hprev,
                         const float* __restrict__ cprev, const float* __restrict__ dout,
                         float* __restrict__ d_hr, float* __restrict__ dcr,
                         float* __restrict__ dg, float* __restrict__ d_phi, float* __restrict__ d_r,
                         double* __restrict__ acc_tau, double* __restrict__ acc_s,
                         double* __restrict__ acc_r, const Units<P>& u, P tb, float valid,
                         int64_t J) {
  for (int64_t j = 0; j < J; ++j) {
    const float i = a[j], f = a[as + j], gg = a[2 * as + j], o = a[3 * as + j];
    const float ct = f * cprev[j] + i * gg;
    const float tct = tanh_v(ct);
    const float ht = o * tct;
    const Gate<P> gt = gate_at<P>(tb, u.tau[j], u.inv_tau[j], u.shift[j], u.r_on[j], u.leak, valid);
    const float dh = d_hr[j] + dout[j];
    const float dc = dcr[j];
    // h = h_prev + k (ht - h_prev), c = c_prev + k (ct - c_prev)
    const float dk = dh * (ht - hprev[j]) + dc * (ct - cprev[j]);
    const float dht = dh * gt.k;
    const float dct = dc * gt.k + dht * o * (1.0f - tct * tct);
    dg[j] = dct * gg * i * (1.0f - i);
    dg[J + j] = dct * cprev[j] * f * (1.0f - f);
    dg[2 * J + j] = dct * i * (1.0f - gg * gg);
    dg[3 * J + j] = dht * tct * o * (1.0f - o);
    dcr[j] = dc * (1.0f - gt.k) + dct * f;
    d_hr[j] = dh * (1.0f - gt.k);
    d_phi[j] = dk * gt.dk_dphi;
    d_r[j] = dk * gt.dk_dr;
  }
  for (int64_t j = 0; j < J; ++j) {
    // phi = (a - tau floor(a / tau)) / tau with a = t - s:
    // d phi / d tau = -a / tau^2 and d phi / d s = -1 / tau
    const double inv = static_cast<double>(u.inv_tau[j]);
    const double dphi = static_cast<double>(d_phi[j]);
    acc_tau[j] -= dphi * static_cast<double>(tb - u.shift[j]) * inv * inv;
    acc_s[j] -= dphi * inv;
    acc_r[j] += static_cast<double>(d_r[j]);
  }
}

//: the gate gradients of about this many (step, batch) rows are kept, and the weight and
//: input gradients are computed from them in a few large products instead of one per step
constexpr int64_t kChunkRows = 1024;

// The gate activations of a block of Jb units of one sample for the backward pass: kept
// by the forward pass (kept_row: the sample's row of the activations at the block's first
// unit, the gates H apart), or, where that is null, recomputed in place over the block's
// pre-activations g (four blocks of Jb) with their input projection (xp_row, where given)
// and their biases.
struct BlockActs {
  const float* a;
  int64_t stride;
};

inline BlockActs block_activations(const float* kept_row, float* g, const float* bias,
                                   const float* xp_row, int64_t H, int64_t Jb) {
  if (kept_row != nullptr) return {kept_row, H};
  if (xp_row != nullptr) add_projection(g, xp_row, H, Jb);
  activate_units(g, bias, Jb);
  return {g, Jb};
}

// The data of a backward pass, as pointers (both modes): times, mask (null when every
// step is valid), x, the blocked weights and bias, out, cs, d_out, h0, c0; the gradients
// d_x, dh and dc it writes.
template <typename P>
struct BackwardData {
  const P* tp;
  const float *mp, *x_p, *w_p, *b_p, *out_p, *cs_p, *dout_p, *h0_p, *c0_p;
  float *dx_p, *dh_p, *dc_p;
  BackwardData(const torch::Tensor& times, const torch::Tensor& mask, const torch::Tensor& x,
               const BlockedWeights& wb, const torch::Tensor& out, const torch::Tensor& cs,
               const torch::Tensor& d_out, const torch::Tensor& h0, const torch::Tensor& c0,
               torch::Tensor& d_x, torch::Tensor& dh, torch::Tensor& dc)
      : tp(times.data_ptr<P>()),
        mp(mask.numel() > 0 ? mask.data_ptr<float>() : nullptr),
        x_p(x.data_ptr<float>()),
        w_p(wb.w.data_ptr<float>()),
        b_p(wb.bias.data_ptr<float>()),
        out_p(out.data_ptr<float>()),
        cs_p(cs.data_ptr<float>()),
        dout_p(d_out.data_ptr<float>()),
        h0_p(h0.data_ptr<float>()),
        c0_p(c0.data_ptr<float>()),
        dx_p(d_x.data_ptr<float>()),
        dh_p(dh.data_ptr<float>()),
        dc_p(dc.data_ptr<float>()) {}
};

// The gradients as backward returns them (x, w, bias, tau, shift, r_on, h0, c0, xp), from
// the weight gradient d_w_o (rows in unit_order) and the double sums acc (7H: tau,
// shift, r_on, then the bias in unit_order).
inline std::vector<torch::Tensor> gradients_out(const BlockedWeights& wb, torch::Tensor d_x,
                                                const torch::Tensor& d_w_o,
                                                std::vector<double>& acc, torch::Tensor dh,
                                                torch::Tensor dc, torch::Tensor d_xp, int64_t H) {
  auto sums = torch::from_blob(acc.data(), {7 * H}, torch::kFloat64).to(torch::kFloat32);
  auto d_w = torch::empty_like(d_w_o).index_copy_(0, wb.order, d_w_o);
  auto d_bias = torch::empty({4 * H}, d_w_o.options())
                    .index_copy_(0, wb.order, sums.narrow(0, 3 * H, 4 * H));
  return {d_x,
          d_w,
          d_bias,
          sums.narrow(0, 0, H).clone(),
          sums.narrow(0, H, H).clone(),
          sums.narrow(0, 2 * H, H).clone(),
          dh,
          dc,
          d_xp};
}

// The gradient of the input projection xp (T, B, 4H, gate-major as xp), written from the
// gate gradients by the backward passes; an empty tensor where no xp was given.
inline torch::Tensor projection_gradient(const torch::Tensor& xp) {
  return xp.numel() > 0 ? large(xp.sizes(), xp.options()) : torch::empty({0}, xp.options());
}

// Rows of gate gradients in unit_order (each 4H: block by block, four gates of Jb units)
// written gate-major (the order of w's rows and of xp) into d_xp's rows.
inline void gate_major_rows(const float* __restrict__ dg, float* __restrict__ d_xp, int64_t rows,
                            int64_t H) {
  for (int64_t r = 0; r < rows; ++r)
    for_blocks(0, H, [&](int64_t jb, int64_t Jb) {
      const float* __restrict__ from = dg + r * 4 * H + 4 * jb;
      float* __restrict__ to = d_xp + r * 4 * H + jb;
      for (int64_t q = 0; q < 4; ++q)
        for (int64_t j = 0; j < Jb; ++j) to[q * H + j] = from[q * Jb + j];
    });
}

// Backward pass: returns the gradients of x, w, bias, tau, shift, r_on, h0 and c0. As in
// the forward pass, each thread owns blocks of units; per step it takes their gate
// activations (kept by the forward pass, or recomputed with one product per block), runs
// their backward pass, and after the
// barrier adds the gradient of h_{t-1} of its units: dg @ w_hh over every unit's dg. The
// gate gradients of a chunk of steps are kept (two chunks, in turn), and once a chunk is
// done each thread adds its rows of the weight gradient, dg^T @ [h_{t-1} | x_t], and
// its share of the rows of the input gradient, dg @ w_ih, in one product each.
template <typename P>
std::vector<torch::Tensor> backward_impl(torch::Tensor d_out, torch::Tensor d_hn, torch::Tensor d_cn,
                                         torch::Tensor x, torch::Tensor xp, torch::Tensor times,
                                         torch::Tensor mask,
                                         const BlockedWeights& wb, torch::Tensor tau,
                                         torch::Tensor shift, torch::Tensor r_on, double leak,
                                         torch::Tensor h0, torch::Tensor c0, torch::Tensor out,
                                         torch::Tensor cs, torch::Tensor acts, bool reverse) {
  const int64_t T = x.size(0), B = x.size(1), C = x.size(2), H = h0.size(1), HC = H + C;
  const bool kept = acts.numel() > 0;  // the forward pass kept the activations
  const float* const acts_p = kept ? acts.data_ptr<float>() : nullptr;
  const GateParams<P> gp(tau, shift, r_on, leak);
  const int n_threads = threads_for(B, H, HC);
  const int64_t L = std::max<int64_t>(1, std::min<int64_t>(T, (kChunkRows + B - 1) / B));
  auto opts = x.options();
  auto d_x = large({T, B, C}, opts);
  auto d_w_o = torch::zeros({4 * H, HC}, opts);
  auto ring = torch::empty({2, L, B, 4 * H}, opts);  // gate gradients of two chunks
  auto d_xp = projection_gradient(xp);
  const float* const xp_p = xp.numel() > 0 ? xp.data_ptr<float>() : nullptr;
  float* const dxp_p = xp.numel() > 0 ? d_xp.data_ptr<float>() : nullptr;
  auto dh = d_hn.clone();  // the gradient of h_t of every unit (each thread its own)
  auto dc = d_cn.clone();
  std::vector<double> acc(static_cast<size_t>(7 * H), 0.0);  // tau, shift, r_on, bias (4H)
  const BackwardData<P> d(times, mask, x, wb, out, cs, d_out, h0, c0, d_x, dh, dc);
  const bool has_mask = d.mp != nullptr;
  float* const dw_p = d_w_o.data_ptr<float>();
  float* const ring_p = ring.data_ptr<float>();
  double* const acc_p = acc.data();
  auto body = [&](const int p, const int team) {
    const Slice s = p < team ? slice_of(H, p, team) : Slice{0, 0};
    const int64_t J = s.size(), j0 = s.j0, j1 = s.j1;
    // [h_{t-1} | x_t] and the gates of the slice, when the activations are recomputed
    std::vector<float> hx(static_cast<size_t>(J > 0 && !kept ? B * HC : 0));
    std::vector<float> gates(static_cast<size_t>(kept ? 0 : B * 4 * J));
    std::vector<float> scratch(static_cast<size_t>(2 * kBlock));
    for (int64_t n = T - 1; n >= 0; --n) {
      const int64_t t = reverse ? T - 1 - n : n;
      const int64_t t_prev = reverse ? t + 1 : t - 1;
      const bool first = n == 0;
      // the chunk of n: steps n_lo .. n_lo + len - 1, slot t - t_lo of ring half chunk % 2
      const int64_t chunk = n / L, n_lo = chunk * L, len = std::min(L, T - n_lo);
      const int64_t t_lo = reverse ? T - n_lo - len : n_lo;
      float* const dg_chunk = ring_p + (chunk & 1) * L * B * 4 * H;
      float* const dg_step = dg_chunk + (t - t_lo) * B * 4 * H;
      if (J > 0) {
        const float* hp = first ? d.h0_p : d.out_p + t_prev * B * H;
        if (!kept) {
          for (int64_t b = 0; b < B; ++b) {
            std::memcpy(hx.data() + b * HC, hp + b * H, H * sizeof(float));
            std::memcpy(hx.data() + b * HC + H, d.x_p + (t * B + b) * C, C * sizeof(float));
          }
          for_blocks(j0, j1, [&](int64_t jb, int64_t Jb) {
            gemm(false, true, B, 4 * Jb, HC, hx.data(), HC, d.w_p + 4 * jb * HC, HC, 0.0f,
                 gates.data() + 4 * (jb - j0), 4 * J);
          });
        }
        for (int64_t b = 0; b < B; ++b) {
          const int64_t row = t * B + b;
          const float valid = has_mask ? d.mp[row] : 1.0f;
          for_blocks(j0, j1, [&](int64_t jb, int64_t Jb) {
            const BlockActs ba = block_activations(
                kept ? acts_p + row * 4 * H + jb : nullptr,
                kept ? nullptr : gates.data() + b * 4 * J + 4 * (jb - j0), d.b_p + 4 * jb,
                xp_p != nullptr ? xp_p + row * 4 * H + jb : nullptr, H, Jb);
            const float* hprev = (kept ? hp + b * H : hx.data() + b * HC) + jb;
            const float* cprev = (first ? d.c0_p + b * H : d.cs_p + (t_prev * B + b) * H) + jb;
            backward_row<P>(ba.a, ba.stride, hprev, cprev, d.dout_p + row * H + jb, d.dh_p + b * H + jb,
                            d.dc_p + b * H + jb, dg_step + b * 4 * H + 4 * jb, scratch.data(),
                            scratch.data() + Jb, acc_p + jb, acc_p + H + jb, acc_p + 2 * H + jb,
                            units_from(gp, jb), d.tp[row], valid, Jb);
          });
        }
      }
#pragma omp barrier
      // every unit's dg of this step is written: dh_{t-1} = dh (1 - k) + dg @ w_hh
      for_blocks(j0, j1, [&](int64_t jb, int64_t Jb) {
        gemm(false, false, B, Jb, 4 * H, dg_step, 4 * H, d.w_p + jb, HC, 1.0f, d.dh_p + jb, H);
      });
      if (n == n_lo) {  // the chunk is done
        const int64_t rows = len * B;
        // the h_{t-1} of the chunk's steps are consecutive steps of out, except the
        // sequence's first step, whose h_{t-1} is h0
        const bool has_first = reverse ? t_lo + len == T : t_lo == 0;
        const int64_t skip = (!reverse && has_first) ? 1 : 0;  // slots from out
        const int64_t from_out = len - (has_first ? 1 : 0);
        const int64_t first_prev = reverse ? t_lo + 1 : t_lo - 1 + skip;
        for_blocks(j0, j1, [&](int64_t jb, int64_t Jb) {
          float* dw = dw_p + 4 * jb * HC;
          const float* dg = dg_chunk + 4 * jb;
          gemm(true, false, 4 * Jb, H, from_out * B, dg + skip * B * 4 * H, 4 * H,
               d.out_p + first_prev * B * H, H, 1.0f, dw, HC);
          if (has_first) {
            const int64_t slot = reverse ? len - 1 : 0;
            gemm(true, false, 4 * Jb, H, B, dg + slot * B * 4 * H, 4 * H, d.h0_p, H, 1.0f, dw, HC);
          }
          gemm(true, false, 4 * Jb, C, rows, dg, 4 * H, d.x_p + t_lo * B * C, C, 1.0f, dw + H, HC);
          double* acc_b = acc_p + 3 * H + 4 * jb;
          for (int64_t r = 0; r < rows; ++r) {
            const float* dgr = dg + r * 4 * H;
            for (int64_t j = 0; j < 4 * Jb; ++j) acc_b[j] += static_cast<double>(dgr[j]);
          }
        });
        // the input gradient of the chunk, in blocks of rows taken in turn
        for (int64_t r0 = p * kRowBlock; p < team && r0 < rows; r0 += team * kRowBlock) {
          const int64_t r1 = std::min(rows, r0 + kRowBlock);
          gemm(false, false, r1 - r0, C, 4 * H, dg_chunk + r0 * 4 * H, 4 * H, d.w_p + H, HC, 0.0f,
               d.dx_p + t_lo * B * C + r0 * C, C);
          if (dxp_p != nullptr)  // the gradient of the input projection is the gates'
            gate_major_rows(dg_chunk + r0 * 4 * H, dxp_p + (t_lo * B + r0) * 4 * H, r1 - r0, H);
        }
      }
    }
  };
  run_team(n_threads, body);
  return gradients_out(wb, d_x, d_w_o, acc, dh, dc, d_xp, H);
}


// ------------------------------------------ the batch-sliced mode (small hidden sizes)
// Where the hidden size is small, a step's product is too small to share between
// threads owning blocks of units: they would spend the step at its barrier. There the
// batch is cut into groups of kGroup samples instead, and each group runs the whole
// sequence, forward or backward, with all units and no barrier: threads take groups in
// turn. Which mode runs depends on the sizes alone, and the groups on the batch size
// alone, and the weight gradient is summed group by group in their order: the results
// are the same to the bit for any number of threads.

//: samples per group (measured on 2 cores: groups of 8 made products too small to gain
//: from the second thread; 16 ran batches of 32 at 0.63-0.89x the time of threads
//: owning units, and as fast on one thread)
constexpr int64_t kGroup = 16;

//: the batch-sliced mode runs while the hidden size is at most this (and the batch has
//: at least two groups)
constexpr int64_t kGroupedMaxHidden = 128;

inline int64_t groups_of(int64_t B) { return (B + kGroup - 1) / kGroup; }

// Whether a recurrence of batch B, hidden H and H + C = HC columns runs batch-sliced:
// small hidden sizes, two groups or more, and the groups' weight gradients (one each)
// within kSaveBytes / 4.
inline bool batch_sliced(int64_t B, int64_t H, int64_t HC) {
  return H <= kGroupedMaxHidden && B >= 2 * kGroup &&
         groups_of(B) * 4 * H * HC * int64_t(sizeof(float)) <= kSaveBytes / 4;
}

// Runs f(g) for every group g, threads taking groups in turn; on one thread outside any
// parallel region with MKL kept on that thread (as run_team).
template <typename F>
void for_groups(int64_t n_groups, const F& f) {
  const int team = static_cast<int>(std::min<int64_t>(at::get_num_threads(), n_groups));
  if (team <= 1) {
    const int previous = mkl_threads_local != nullptr ? mkl_threads_local(1) : 0;
    for (int64_t g = 0; g < n_groups; ++g) f(g);
    if (mkl_threads_local != nullptr) mkl_threads_local(previous);
    return;
  }
#pragma omp parallel for schedule(dynamic, 1) num_threads(team)
  for (int64_t g = 0; g < n_groups; ++g) f(g);
}

// The forward pass of forward_impl, batch-sliced: one product [h | x_t] @ w^T per group
// and step (all 4H rows, in unit_order), then the fused pass of every block of units.
template <typename P>
std::vector<torch::Tensor> forward_grouped(torch::Tensor x, torch::Tensor xp, torch::Tensor times,
                                           torch::Tensor mask, const BlockedWeights& wb,
                                           torch::Tensor tau, torch::Tensor shift,
                                           torch::Tensor r_on, double leak, torch::Tensor h0,
                                           torch::Tensor c0, bool reverse, bool save) {
  const int64_t T = x.size(0), B = x.size(1), C = x.size(2), H = h0.size(1), HC = H + C;
  const GateParams<P> gp(tau, shift, r_on, leak);
  ForwardOutputs fo(x.options(), T, B, H, save);
  auto &out = fo.out, &cs = fo.cs, &acts = fo.acts;
  const bool keep = fo.keep;
  auto h = h0.clone();
  auto c = c0.clone();
  const bool has_mask = mask.numel() > 0;
  const P* const tp = times.data_ptr<P>();
  const float* const mp = has_mask ? mask.data_ptr<float>() : nullptr;
  const float* const x_p = x.data_ptr<float>();
  const float* const w_p = wb.w.data_ptr<float>();
  const float* const b_p = wb.bias.data_ptr<float>();
  float* const acts_p = acts.data_ptr<float>();
  float* const out_p = out.data_ptr<float>();
  float* const cs_p = save ? cs.data_ptr<float>() : nullptr;
  float* const h_p = h.data_ptr<float>();
  float* const c_p = c.data_ptr<float>();
  const float* const xp_p = xp.numel() > 0 ? xp.data_ptr<float>() : nullptr;
  for_groups(groups_of(B), [&](const int64_t g) {
    const int64_t b0 = g * kGroup, Gb = std::min(B, b0 + kGroup) - b0;
    std::vector<float> hx(static_cast<size_t>(Gb * HC)), gates(static_cast<size_t>(Gb * 4 * H));
    for (int64_t i = 0; i < Gb; ++i)
      std::memcpy(hx.data() + i * HC, h_p + (b0 + i) * H, H * sizeof(float));
    for (int64_t n = 0; n < T; ++n) {
      const int64_t t = reverse ? T - 1 - n : n;
      for (int64_t i = 0; i < Gb; ++i)
        std::memcpy(hx.data() + i * HC + H, x_p + (t * B + b0 + i) * C, C * sizeof(float));
      gemm(false, true, Gb, 4 * H, HC, hx.data(), HC, w_p, HC, 0.0f, gates.data(), 4 * H);
      for (int64_t i = 0; i < Gb; ++i) {
        const int64_t row = t * B + b0 + i;
        const float valid = has_mask ? mp[row] : 1.0f;
        float* const hr = hx.data() + i * HC;  // h of the sample, updated in place
        for_blocks(0, H, [&](int64_t jb, int64_t Jb) {
          forward_block<P>(gates.data() + i * 4 * H + 4 * jb, b_p + 4 * jb,
                           xp_p != nullptr ? xp_p + row * 4 * H + jb : nullptr,
                           keep ? acts_p + row * 4 * H + jb : nullptr, H, hr + jb, hr + jb,
                           c_p + (b0 + i) * H + jb, out_p + row * H + jb,
                           save ? cs_p + row * H + jb : nullptr, units_from(gp, jb), tp[row],
                           valid, Jb);
        });
      }
    }
    for (int64_t i = 0; i < Gb; ++i)
      std::memcpy(h_p + (b0 + i) * H, hx.data() + i * HC, H * sizeof(float));
  });
  if (save) return {out, h, c, cs, acts};
  return {out, h, c};
}

// The backward pass of backward_impl, batch-sliced: each group runs its steps backwards
// with all units, adds dg @ w_hh into its own dh, and at the end of every chunk of steps
// adds its part of the weight gradient (one product each for w_hh's and w_ih's columns,
// from the chunk's h_{t-1} and x_t gathered by rows) and writes its rows of the input
// gradient. The groups' weight and gate-parameter gradients are summed in group order.
template <typename P>
std::vector<torch::Tensor> backward_grouped(torch::Tensor d_out, torch::Tensor d_hn,
                                            torch::Tensor d_cn, torch::Tensor x, torch::Tensor xp,
                                            torch::Tensor times, torch::Tensor mask,
                                            const BlockedWeights& wb, torch::Tensor tau,
                                            torch::Tensor shift, torch::Tensor r_on, double leak,
                                            torch::Tensor h0, torch::Tensor c0, torch::Tensor out,
                                            torch::Tensor cs, torch::Tensor acts, bool reverse) {
  const int64_t T = x.size(0), B = x.size(1), C = x.size(2), H = h0.size(1), HC = H + C;
  const bool kept = acts.numel() > 0;
  const float* const acts_p = kept ? acts.data_ptr<float>() : nullptr;
  const GateParams<P> gp(tau, shift, r_on, leak);
  const int64_t n_groups = groups_of(B);
  const int64_t L = std::max<int64_t>(1, std::min<int64_t>(T, (kChunkRows + kGroup - 1) / kGroup));
  auto opts = x.options();
  auto d_x = large({T, B, C}, opts);
  std::vector<float> dw_parts(static_cast<size_t>(n_groups * 4 * H * HC), 0.0f);
  std::vector<double> acc_parts(static_cast<size_t>(n_groups * 7 * H), 0.0);
  auto d_xp = projection_gradient(xp);
  const float* const xp_p = xp.numel() > 0 ? xp.data_ptr<float>() : nullptr;
  float* const dxp_p = xp.numel() > 0 ? d_xp.data_ptr<float>() : nullptr;
  auto dh = d_hn.clone();
  auto dc = d_cn.clone();
  const BackwardData<P> d(times, mask, x, wb, out, cs, d_out, h0, c0, d_x, dh, dc);
  const bool has_mask = d.mp != nullptr;
  for_groups(n_groups, [&](const int64_t g) {
    const int64_t b0 = g * kGroup, Gb = std::min(B, b0 + kGroup) - b0;
    // per chunk: the gate gradients, h_{t-1} and x_t of its (step, sample) rows, in the
    // order of n; the input gradient before it is written out
    std::vector<float> dg(static_cast<size_t>(L * Gb * 4 * H)), hs(static_cast<size_t>(L * Gb * H)),
        xs(static_cast<size_t>(L * Gb * C)), dxs(static_cast<size_t>(L * Gb * C));
    std::vector<float> hx(static_cast<size_t>(kept ? 0 : Gb * HC));
    std::vector<float> gates(static_cast<size_t>(kept ? 0 : Gb * 4 * H));
    std::vector<float> scratch(static_cast<size_t>(2 * kBlock));
    float* const dwg = dw_parts.data() + g * 4 * H * HC;
    double* const accg = acc_parts.data() + g * 7 * H;
    float* const dhg = d.dh_p + b0 * H;
    float* const dcg = d.dc_p + b0 * H;
    for (int64_t n = T - 1; n >= 0; --n) {
      const int64_t t = reverse ? T - 1 - n : n;
      const int64_t t_prev = reverse ? t + 1 : t - 1;
      const bool first = n == 0;
      const int64_t n_lo = n / L * L, len = std::min(L, T - n_lo), slot = n - n_lo;
      float* const dg_step = dg.data() + slot * Gb * 4 * H;
      for (int64_t i = 0; i < Gb; ++i) {
        const float* hp = first ? d.h0_p + (b0 + i) * H : d.out_p + (t_prev * B + b0 + i) * H;
        std::memcpy(hs.data() + (slot * Gb + i) * H, hp, H * sizeof(float));
        std::memcpy(xs.data() + (slot * Gb + i) * C, d.x_p + (t * B + b0 + i) * C, C * sizeof(float));
        if (!kept) {
          std::memcpy(hx.data() + i * HC, hp, H * sizeof(float));
          std::memcpy(hx.data() + i * HC + H, d.x_p + (t * B + b0 + i) * C, C * sizeof(float));
        }
      }
      if (!kept)
        gemm(false, true, Gb, 4 * H, HC, hx.data(), HC, d.w_p, HC, 0.0f, gates.data(), 4 * H);
      for (int64_t i = 0; i < Gb; ++i) {
        const int64_t b = b0 + i, row = t * B + b;
        const float valid = has_mask ? d.mp[row] : 1.0f;
        for_blocks(0, H, [&](int64_t jb, int64_t Jb) {
          const BlockActs ba = block_activations(
              kept ? acts_p + row * 4 * H + jb : nullptr,
              kept ? nullptr : gates.data() + i * 4 * H + 4 * jb, d.b_p + 4 * jb,
              xp_p != nullptr ? xp_p + row * 4 * H + jb : nullptr, H, Jb);
          const float* hprev = hs.data() + (slot * Gb + i) * H + jb;
          const float* cprev = (first ? d.c0_p + b * H : d.cs_p + (t_prev * B + b) * H) + jb;
          backward_row<P>(ba.a, ba.stride, hprev, cprev, d.dout_p + row * H + jb, dhg + i * H + jb,
                          dcg + i * H + jb, dg_step + i * 4 * H + 4 * jb, scratch.data(),
                          scratch.data() + Jb, accg + jb, accg + H + jb, accg + 2 * H + jb,
                          units_from(gp, jb), d.tp[row], valid, Jb);
        });
      }
      // dh_{t-1} = dh (1 - k) + dg @ w_hh
      gemm(false, false, Gb, H, 4 * H, dg_step, 4 * H, d.w_p, HC, 1.0f, dhg, H);
      if (slot == 0) {  // the chunk is done: its rows are slots 0 .. len - 1
        const int64_t rows = len * Gb;
        gemm(true, false, 4 * H, H, rows, dg.data(), 4 * H, hs.data(), H, 1.0f, dwg, HC);
        gemm(true, false, 4 * H, C, rows, dg.data(), 4 * H, xs.data(), C, 1.0f, dwg + H, HC);
        double* const acc_b = accg + 3 * H;
        for (int64_t r = 0; r < rows; ++r) {
          const float* dgr = dg.data() + r * 4 * H;
          for (int64_t j = 0; j < 4 * H; ++j) acc_b[j] += static_cast<double>(dgr[j]);
        }
        gemm(false, false, rows, C, 4 * H, dg.data(), 4 * H, d.w_p + H, HC, 0.0f, dxs.data(), C);
        for (int64_t q = 0; q < len; ++q) {
          const int64_t tq = reverse ? T - 1 - (n_lo + q) : n_lo + q;
          for (int64_t i = 0; i < Gb; ++i) {
            std::memcpy(d.dx_p + (tq * B + b0 + i) * C, dxs.data() + (q * Gb + i) * C,
                        C * sizeof(float));
            if (dxp_p != nullptr)  // the gradient of the input projection is the gates'
              gate_major_rows(dg.data() + (q * Gb + i) * 4 * H, dxp_p + (tq * B + b0 + i) * 4 * H,
                              1, H);
          }
        }
      }
    }
  });
  auto d_w_o = torch::zeros({4 * H, HC}, opts);
  float* const dw_p = d_w_o.data_ptr<float>();
  std::vector<double> acc(static_cast<size_t>(7 * H), 0.0);
  for (int64_t g = 0; g < n_groups; ++g) {  // in group order: the same sums on any team
    const float* part = dw_parts.data() + g * 4 * H * HC;
    for (int64_t e = 0; e < 4 * H * HC; ++e) dw_p[e] += part[e];
    const double* a = acc_parts.data() + g * 7 * H;
    for (int64_t e = 0; e < 7 * H; ++e) acc[static_cast<size_t>(e)] += a[e];
  }
  return gradients_out(wb, d_x, d_w_o, acc, dh, dc, d_xp, H);
}

// four floats, one vector register (GCC and Clang vector extension)
typedef float float4 __attribute__((vector_size(16)));

// a * b + c of four floats, fused where the CPU has FMA: the rounding of muladd
inline float4 muladd4(float4 a, float4 b, float4 c) {
#ifdef __FMA__
  return (float4)_mm_fmadd_ps((__m128)a, (__m128)b, (__m128)c);
#else
  return a * b + c;
#endif
}

// The four gate sums of U units: out[4 u + q] = bias_u[4 j + q] + sum over l < HC of
// w_u[(j W + l) 4 + q] hx[l], j = units[u], each in the order of l, the U units' sums
// held in registers (so the sum of a unit does not depend on which others it is with).
// W is the width of w_u's rows (HC, or more where only the first HC columns are summed).
template <int U>
inline void unit_sums(const float* __restrict__ w_u, const float* __restrict__ bias_u,
                      const int64_t* units, const float* __restrict__ hx, int64_t HC, int64_t W,
                      float* __restrict__ out) {
  float4 r[U];
  const float* rows[U];
  for (int u = 0; u < U; ++u) {
    rows[u] = w_u + units[u] * W * 4;
    std::memcpy(&r[u], bias_u + units[u] * 4, sizeof(float4));
  }
  for (int64_t l = 0; l < HC; ++l) {
    const float4 v = {hx[l], hx[l], hx[l], hx[l]};
    for (int u = 0; u < U; ++u) {
      float4 w;
      std::memcpy(&w, rows[u] + l * 4, sizeof(float4));
      r[u] = muladd4(w, v, r[u]);
    }
  }
  for (int u = 0; u < U; ++u) std::memcpy(out + 4 * u, &r[u], sizeof(float4));
}

// unit_sums for the J units listed, eight at a time
inline void open_unit_sums(const float* w_u, const float* bias_u, const int64_t* units, int64_t J,
                           const float* hx, int64_t HC, int64_t W, float* out) {
  for (int64_t m = 0; m < J; m += 8) {
    const int64_t* u = units + m;
    float* o = out + 4 * m;
    switch (std::min<int64_t>(8, J - m)) {
      case 8: unit_sums<8>(w_u, bias_u, u, hx, HC, W, o); break;
      case 7: unit_sums<7>(w_u, bias_u, u, hx, HC, W, o); break;
      case 6: unit_sums<6>(w_u, bias_u, u, hx, HC, W, o); break;
      case 5: unit_sums<5>(w_u, bias_u, u, hx, HC, W, o); break;
      case 4: unit_sums<4>(w_u, bias_u, u, hx, HC, W, o); break;
      case 3: unit_sums<3>(w_u, bias_u, u, hx, HC, W, o); break;
      case 2: unit_sums<2>(w_u, bias_u, u, hx, HC, W, o); break;
      default: unit_sums<1>(w_u, bias_u, u, hx, HC, W, o); break;
    }
  }
}

// a[e] += sum over l of w[l * ld + e] * hx[l], e < N, in the order of l, with the N sums
// held in registers (N a multiple of the vector width, or 1)
template <int N>
inline void columns_chunk(const float* __restrict__ w, int64_t ld, const float* __restrict__ hx,
                          int64_t L, float* __restrict__ a) {
  float r[N];
  for (int e = 0; e < N; ++e) r[e] = a[e];
  for (int64_t l = 0; l < L; ++l) {
    const float v = hx[l];
    const float* __restrict__ wl = w + l * ld;
    for (int e = 0; e < N; ++e) r[e] = muladd(wl[e], v, r[e]);
  }
  for (int e = 0; e < N; ++e) a[e] = r[e];
}

// a[m] += sum over l < L of w[l * width + m] * hx[l] for m < width (a multiple of 8): each
// sum in the order of l, so that it does not depend on where m falls in the chunks
inline void sum_columns(const float* w, int64_t width, const float* hx, int64_t L, float* a) {
  int64_t m = 0;
  for (; width - m >= 64; m += 64) columns_chunk<64>(w + m, width, hx, L, a + m);
  switch ((width - m) / 8) {  // the rest in one pass, its vectors interleaved
    case 7: columns_chunk<56>(w + m, width, hx, L, a + m); break;
    case 6: columns_chunk<48>(w + m, width, hx, L, a + m); break;
    case 5: columns_chunk<40>(w + m, width, hx, L, a + m); break;
    case 4: columns_chunk<32>(w + m, width, hx, L, a + m); break;
    case 3: columns_chunk<24>(w + m, width, hx, L, a + m); break;
    case 2: columns_chunk<16>(w + m, width, hx, L, a + m); break;
    case 1: columns_chunk<8>(w + m, width, hx, L, a + m); break;
    default: break;
  }
}

// w (4 H, HC) with its rows regrouped by unit: (H, HC, 4), entry [j][l][q] = w[q H + j][l]
inline torch::Tensor by_unit(const torch::Tensor& w, int64_t H) {
  return w.view({4, H, w.size(1)}).permute({1, 2, 0}).contiguous();
}

// bias (4 H, gate-major) regrouped by unit: [j][q] = bias[q H + j]
inline std::vector<float> bias_by_unit(const torch::Tensor& bias, int64_t H) {
  std::vector<float> out(static_cast<size_t>(4 * H));
  const float* const p = bias.data_ptr<float>();
  for (int64_t j = 0; j < H; ++j)
    for (int64_t q = 0; q < 4; ++q) out[j * 4 + q] = p[q * H + j];
  return out;
}

// The openness k (H) at time t (no leak; times `valid`) and the units open there, in order.
template <typename P>
inline void open_at(P t, const GateParams<P>& gp, float valid, int64_t H, float* k,
                    std::vector<int64_t>& open) {
  open.clear();
  for (int64_t j = 0; j < H; ++j) {
    k[j] = gate_at<P>(t, gp.tau[j], gp.inv_tau[j], gp.shift[j], gp.r_on[j], 0.0f, valid).k;
    if (k[j] > 0.0f) open.push_back(j);
  }
}

// The open units' new states, from their gate sums g (four blocks of J, gate-major; made
// the activations in place): c and h move towards the LSTM's by their openness k.
inline void update_open(float* g, const std::vector<int64_t>& open, const float* k, float* hb,
                        float* cb) {
  const int64_t J = static_cast<int64_t>(open.size());
  activate_row(g, J);
  for (int64_t m = 0; m < J; ++m) {
    const int64_t j = open[m];
    const float ct = g[J + m] * cb[j] + g[m] * g[2 * J + m];
    const float ht = g[3 * J + m] * tanh_v(ct);
    cb[j] += k[j] * (ct - cb[j]);
    hb[j] += k[j] * (ht - hb[j]);
  }
}

// The open units' gate sums, one sample, its [h, x] in hx (HC): the weights read where
// they lie (w_u: by_unit, rows W wide) into sums (4 J, by unit), then laid out gate-major
// in g (4 J).
inline void lone_sums(const float* w_u, const float* bias_u, const std::vector<int64_t>& open,
                      const float* hx, int64_t HC, int64_t W, float* sums, float* g) {
  const int64_t J = static_cast<int64_t>(open.size());
  open_unit_sums(w_u, bias_u, open.data(), J, hx, HC, W, sums);
  for (int64_t m = 0; m < J; ++m)
    for (int64_t q = 0; q < 4; ++q) g[q * J + m] = sums[m * 4 + q];
}

// Adds the open units' input projection to their gate sums g (four blocks of J,
// gate-major): xp_row is the sample's row of xp (4H, gate-major).
inline void add_open_projection(float* g, const std::vector<int64_t>& open,
                                const float* xp_row, int64_t H) {
  const int64_t J = static_cast<int64_t>(open.size());
  for (int64_t q = 0; q < 4; ++q)
    for (int64_t m = 0; m < J; ++m) g[q * J + m] += xp_row[q * H + open[m]];
}

// Event-driven inference (no leak, no gradient): a unit whose gate is closed keeps its
// state exactly, so each step computes the gates of the open units only. Samples are
// independent: threads own slices of the batch for the whole sequence (one parallel
// region, no barrier). The weights come regrouped by unit (by_unit: the four gate rows
// of a unit side by side, column by column), so that the open units' weights are read
// where they lie, without gathering; where consecutive samples have the same open units
// (same times), their weights are packed once for all of them. A gate's sum is its bias
// plus the columns of [h, x_t] times its weights, in the order of the columns, whichever
// way: whatever the batch, the other open units and the number of threads, a sample's
// arithmetic is the same, so its outputs are too, to the bit. The openness of a step is
// computed once for consecutive samples at the same time. Returns out, h_n, c_n and the
// number of (sample, step, unit) updates made.
template <typename P>
std::vector<torch::Tensor> sparse_forward_impl(torch::Tensor x, torch::Tensor xp,
                                               torch::Tensor times, torch::Tensor mask,
                                               torch::Tensor w_u,
                                               torch::Tensor bias, torch::Tensor tau,
                                               torch::Tensor shift, torch::Tensor r_on,
                                               torch::Tensor h0, torch::Tensor c0, bool reverse) {
  const int64_t T = x.size(0), B = x.size(1), C = x.size(2), H = h0.size(1), HC = H + C;
  const GateParams<P> gp(tau, shift, r_on, 0.0);
  auto out = large({T, B, H}, x.options());
  auto h = h0.clone();
  auto c = c0.clone();
  const bool has_mask = mask.numel() > 0;
  const P* const tp = times.data_ptr<P>();
  const float* const mp = has_mask ? mask.data_ptr<float>() : nullptr;
  const float* const x_p = x.data_ptr<float>();
  const float* const wu_p = w_u.data_ptr<float>();
  const std::vector<float> bias_u = bias_by_unit(bias, H);
  const float* const xp_p = xp.numel() > 0 ? xp.data_ptr<float>() : nullptr;
  float* const h_p = h.data_ptr<float>();
  float* const c_p = c.data_ptr<float>();
  float* const out_p = out.data_ptr<float>();
  // a team only where each thread gets enough work to pay for starting it (a tenth or so
  // of the dense step's multiply-adds are made)
  const int64_t work = T * B * 4 * H * HC / 10;
  const int team = static_cast<int>(
      std::min<int64_t>({at::get_num_threads(), B, std::max<int64_t>(1, work / kSparseWork)}));
  std::vector<int64_t> counts(static_cast<size_t>(std::max(team, 1)), 0);
  const auto body = [&](const int p, const int n_threads) {
    if (p >= n_threads) return;
    const int64_t b0 = B * p / n_threads, b1 = B * (p + 1) / n_threads;
    std::vector<float> k(static_cast<size_t>(H)), hx(static_cast<size_t>(HC)),
        sums(static_cast<size_t>(4 * H)), g(static_cast<size_t>(4 * H + 8)),
        packed_bias(static_cast<size_t>(4 * H + 8));
    std::vector<float> packed;  // grown to what the open units need (a call may be one step)
    std::vector<int64_t> open, before;  // the open units, and those before the last change
    open.reserve(H);
    before.reserve(H);
    // version: of the open units (a new one when they change); previous: the version of
    // the last sample computed; packed_version: the version packed
    int64_t updates = 0, version = 0, previous = -1, packed_version = -1;
    for (int64_t n = 0; n < T; ++n) {
      const int64_t t = reverse ? T - 1 - n : n;
      bool known = false;  // k and open hold the openness at (last_time, last_valid)
      P last_time = P(0);
      float last_valid = 0.0f;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t row = t * B + b;
        const float valid = has_mask ? mp[row] : 1.0f;
        float* const hb = h_p + b * H;
        if (valid == 0.0f) {  // a padded step: every unit is closed; the openness known
          std::memcpy(out_p + row * H, hb, H * sizeof(float));  // stays for the next sample
          continue;
        }
        if (!known || tp[row] != last_time || valid != last_valid) {
          open.swap(before);
          open_at<P>(tp[row], gp, valid, H, k.data(), open);
          if (open != before) ++version;
          known = true;
          last_time = tp[row];
          last_valid = valid;
        }
        float* const cb = c_p + b * H;
        const int64_t J = static_cast<int64_t>(open.size());
        const int64_t padded = (4 * J + 7) / 8 * 8;
        if (J > 0) {
          // every gate of the sample is computed before any of its states changes
          std::memcpy(hx.data(), hb, H * sizeof(float));
          std::memcpy(hx.data() + H, x_p + row * C, C * sizeof(float));
          if (version == previous) {
            // a second sample with these open units: their weights packed once, the
            // columns of w^T for the sums across units (vectors of 8 in place of 4)
            if (packed_version != version) {
              if (packed.size() < static_cast<size_t>(HC * padded))
                packed.resize(static_cast<size_t>(HC * padded));
              float* const dst = packed.data();
              for (int64_t m = 0; m < J; ++m) {
                const float* src = wu_p + open[m] * HC * 4;
                for (int64_t l = 0; l < HC; ++l)
                  for (int64_t q = 0; q < 4; ++q) dst[l * padded + q * J + m] = src[l * 4 + q];
              }
              for (int64_t l = 0; l < HC; ++l)
                for (int64_t m = 4 * J; m < padded; ++m) dst[l * padded + m] = 0.0f;
              for (int64_t m = 0; m < J; ++m)
                for (int64_t q = 0; q < 4; ++q) packed_bias[q * J + m] = bias_u[open[m] * 4 + q];
              for (int64_t m = 4 * J; m < padded; ++m) packed_bias[m] = 0.0f;
              packed_version = version;
            }
            std::memcpy(g.data(), packed_bias.data(), padded * sizeof(float));
            sum_columns(packed.data(), padded, hx.data(), HC, g.data());
          } else {
            lone_sums(wu_p, bias_u.data(), open, hx.data(), HC, HC, sums.data(), g.data());
          }
          if (xp_p != nullptr) add_open_projection(g.data(), open, xp_p + row * 4 * H, H);
          previous = version;
          update_open(g.data(), open, k.data(), hb, cb);
          updates += J;
        }
        std::memcpy(out_p + row * H, hb, H * sizeof(float));
      }
    }
    counts[static_cast<size_t>(p)] = updates;
  };
  if (team > 1) {
    run_team(team, body);
  } else {
    body(0, 1);  // no BLAS here: nothing to keep on this thread
  }
  int64_t updates = 0;
  for (const int64_t u : counts) updates += u;
  auto count = torch::full({}, updates, torch::kInt64);
  return {out, h, c, count};
}

// Every entry point checks what it is given (a call from Python with another layout must
// fail with a message, not read out of bounds): float32 CPU tensors, contiguous, of the
// sizes of one layer and direction, time-major; times in float32 or float64.
void check_recurrence(const torch::Tensor& x, const torch::Tensor& times, const torch::Tensor& mask,
                      const torch::Tensor& w, const torch::Tensor& bias, const torch::Tensor& tau,
                      const torch::Tensor& shift, const torch::Tensor& r_on, const torch::Tensor& h0,
                      const torch::Tensor& c0) {
  const std::pair<const char*, const torch::Tensor*> floats[] = {
      {"x", &x}, {"w", &w}, {"bias", &bias}, {"tau", &tau}, {"shift", &shift},
      {"r_on", &r_on}, {"h0", &h0}, {"c0", &c0}};
  for (const auto& [name, t] : floats) {
    TORCH_CHECK(t->device().is_cpu(), "sk_plstm kernel: ", name, " must be on the CPU");
    TORCH_CHECK(t->scalar_type() == torch::kFloat32, "sk_plstm kernel: ", name,
                " must be float32, got ", t->scalar_type());
    TORCH_CHECK(t->is_contiguous(), "sk_plstm kernel: ", name, " must be contiguous");
  }
  TORCH_CHECK(x.dim() == 3, "sk_plstm kernel: x must be (steps, batch, inputs), got ", x.sizes());
  const int64_t T = x.size(0), B = x.size(1), C = x.size(2), H = h0.size(-1);
  TORCH_CHECK(times.device().is_cpu() && times.is_contiguous(),
              "sk_plstm kernel: times must be a contiguous CPU tensor");
  TORCH_CHECK(times.scalar_type() == torch::kFloat32 || times.scalar_type() == torch::kFloat64,
              "sk_plstm kernel: times must be float32 or float64, got ", times.scalar_type());
  TORCH_CHECK(times.dim() == 2 && times.size(0) == T && times.size(1) == B,
              "sk_plstm kernel: times must be (steps, batch) = (", T, ", ", B, "), got ",
              times.sizes());
  TORCH_CHECK(mask.numel() == 0 || (mask.scalar_type() == torch::kFloat32 && mask.is_contiguous() &&
                                    mask.dim() == 2 && mask.size(0) == T && mask.size(1) == B),
              "sk_plstm kernel: mask must be empty or a contiguous float32 (steps, batch) tensor");
  TORCH_CHECK(h0.dim() == 2 && h0.size(0) == B && c0.sizes() == h0.sizes(),
              "sk_plstm kernel: h0 and c0 must be (batch, hidden) = (", B, ", hidden), got ",
              h0.sizes(), " and ", c0.sizes());
  TORCH_CHECK(w.dim() == 2 && w.size(0) == 4 * H && w.size(1) == H + C,
              "sk_plstm kernel: w must be (4 * hidden, hidden + inputs) = (", 4 * H, ", ", H + C,
              "), got ", w.sizes());
  TORCH_CHECK(bias.dim() == 1 && bias.size(0) == 4 * H, "sk_plstm kernel: bias must be (",
              4 * H, "), got ", bias.sizes());
  for (const auto* t : {&tau, &shift, &r_on})
    TORCH_CHECK(t->dim() == 1 && t->size(0) == H,
                "sk_plstm kernel: tau, shift and r_on must be (hidden) = (", H, "), got ",
                t->sizes());
}

// xp, the input projection of input by index: empty (none), or a contiguous float32
// (steps, batch, 4 * hidden) tensor beside an x of no channels.
void check_projection(const torch::Tensor& xp, const torch::Tensor& x, const torch::Tensor& h0) {
  if (xp.numel() == 0) return;
  const int64_t H = h0.size(-1);
  TORCH_CHECK(xp.device().is_cpu() && xp.scalar_type() == torch::kFloat32 && xp.is_contiguous() &&
                  xp.dim() == 3 && xp.size(0) == x.size(0) && xp.size(1) == x.size(1) &&
                  xp.size(2) == 4 * H,
              "sk_plstm kernel: xp must be empty or a contiguous float32 (steps, batch, 4 * "
              "hidden) = (", x.size(0), ", ", x.size(1), ", ", 4 * H, ") tensor, got ", xp.sizes());
  TORCH_CHECK(x.size(2) == 0, "sk_plstm kernel: with xp, x must have no channels, got ",
              x.sizes());
}

std::vector<torch::Tensor> forward(torch::Tensor x, torch::Tensor times, torch::Tensor mask,
                                   torch::Tensor w, torch::Tensor bias, torch::Tensor tau,
                                   torch::Tensor shift, torch::Tensor r_on, torch::Tensor h0,
                                   torch::Tensor c0, double leak, bool reverse, bool save,
                                   torch::Tensor w_blocked, torch::Tensor bias_blocked,
                                   torch::Tensor xp) {
  check_recurrence(x, times, mask, w, bias, tau, shift, r_on, h0, c0);
  check_projection(xp, x, h0);
  // w and bias in unit_order: given (kept by the caller while the weights stay the same:
  // inference one event per call would otherwise copy the whole weight every call), or
  // laid out here
  BlockedWeights wb;
  if (w_blocked.numel() == 0) {
    wb = blocked(w, bias, h0.size(1));
  } else {
    TORCH_CHECK(w_blocked.sizes() == w.sizes() && bias_blocked.sizes() == bias.sizes() &&
                    w_blocked.scalar_type() == torch::kFloat32 &&
                    bias_blocked.scalar_type() == torch::kFloat32 && w_blocked.is_contiguous() &&
                    bias_blocked.is_contiguous() && w_blocked.device().is_cpu() &&
                    bias_blocked.device().is_cpu(),
                "sk_plstm kernel: w_blocked and bias_blocked must be empty or w and bias laid "
                "out by block_weights");
    wb.w = w_blocked;
    wb.bias = bias_blocked;
  }
  const bool sliced = batch_sliced(x.size(1), h0.size(1), w.size(1));
  if (times.scalar_type() == torch::kFloat64)
    return sliced ? forward_grouped<double>(x, xp, times, mask, wb, tau, shift, r_on, leak, h0,
                                            c0, reverse, save)
                  : forward_impl<double>(x, xp, times, mask, wb, tau, shift, r_on, leak, h0, c0,
                                         reverse, save);
  return sliced ? forward_grouped<float>(x, xp, times, mask, wb, tau, shift, r_on, leak, h0, c0,
                                         reverse, save)
                : forward_impl<float>(x, xp, times, mask, wb, tau, shift, r_on, leak, h0, c0,
                                      reverse, save);
}

// w (4H, HC) and bias (4H) with their rows in unit_order, as forward lays them out.
std::vector<torch::Tensor> block_weights(torch::Tensor w, torch::Tensor bias) {
  TORCH_CHECK(w.dim() == 2 && w.size(0) % 4 == 0 && bias.dim() == 1 && bias.size(0) == w.size(0),
              "sk_plstm kernel: block_weights takes w (4 * hidden, columns) and bias (4 * "
              "hidden), got ", w.sizes(), " and ", bias.sizes());
  const BlockedWeights wb = blocked(w, bias, w.size(0) / 4);
  return {wb.w, wb.bias};
}

std::vector<torch::Tensor> backward(torch::Tensor d_out, torch::Tensor d_hn, torch::Tensor d_cn,
                                    torch::Tensor x, torch::Tensor times, torch::Tensor mask,
                                    torch::Tensor w, torch::Tensor bias, torch::Tensor tau,
                                    torch::Tensor shift, torch::Tensor r_on, torch::Tensor h0,
                                    torch::Tensor c0, torch::Tensor out, torch::Tensor cs,
                                    torch::Tensor acts, double leak, bool reverse,
                                    torch::Tensor xp) {
  check_recurrence(x, times, mask, w, bias, tau, shift, r_on, h0, c0);
  check_projection(xp, x, h0);
  const auto T = x.size(0), B = x.size(1), H = h0.size(1);
  for (const auto& [name, t] : {std::pair<const char*, const torch::Tensor*>{"d_out", &d_out},
                                {"out", &out}, {"cs", &cs}})
    TORCH_CHECK(t->scalar_type() == torch::kFloat32 && t->is_contiguous() && t->dim() == 3 &&
                    t->size(0) == T && t->size(1) == B && t->size(2) == H,
                "sk_plstm kernel: ", name, " must be a contiguous float32 (steps, batch, hidden) "
                "tensor, got ", t->sizes());
  TORCH_CHECK(acts.numel() == 0 || (acts.scalar_type() == torch::kFloat32 && acts.is_contiguous() &&
                                    acts.dim() == 3 && acts.size(0) == T && acts.size(1) == B &&
                                    acts.size(2) == 4 * H),
              "sk_plstm kernel: acts must be empty or a contiguous float32 (steps, batch, "
              "4 * hidden) tensor, got ", acts.sizes());
  TORCH_CHECK(d_hn.sizes() == h0.sizes() && d_cn.sizes() == h0.sizes() && d_hn.is_contiguous() &&
                  d_cn.is_contiguous() && d_hn.scalar_type() == torch::kFloat32 &&
                  d_cn.scalar_type() == torch::kFloat32,
              "sk_plstm kernel: d_hn and d_cn must be contiguous float32 (batch, hidden) tensors");
  const BlockedWeights wb = blocked(w, bias, H);
  if (batch_sliced(B, H, w.size(1))) {
    if (times.scalar_type() == torch::kFloat64)
      return backward_grouped<double>(d_out, d_hn, d_cn, x, xp, times, mask, wb, tau, shift,
                                      r_on, leak, h0, c0, out, cs, acts, reverse);
    return backward_grouped<float>(d_out, d_hn, d_cn, x, xp, times, mask, wb, tau, shift, r_on,
                                   leak, h0, c0, out, cs, acts, reverse);
  }
  if (times.scalar_type() == torch::kFloat64)
    return backward_impl<double>(d_out, d_hn, d_cn, x, xp, times, mask, wb, tau, shift, r_on,
                                 leak, h0, c0, out, cs, acts, reverse);
  return backward_impl<float>(d_out, d_hn, d_cn, x, xp, times, mask, wb, tau, shift, r_on, leak,
                              h0, c0, out, cs, acts, reverse);
}

std::vector<torch::Tensor> sparse_forward(torch::Tensor x, torch::Tensor times, torch::Tensor mask,
                                          torch::Tensor w, torch::Tensor bias, torch::Tensor tau,
                                          torch::Tensor shift, torch::Tensor r_on, torch::Tensor h0,
                                          torch::Tensor c0, bool reverse, torch::Tensor w_units,
                                          torch::Tensor xp) {
  check_recurrence(x, times, mask, w, bias, tau, shift, r_on, h0, c0);
  check_projection(xp, x, h0);
  const int64_t H = h0.size(1);
  // w regrouped by unit (by_unit): given (kept by the caller while the weights stay the
  // same: streaming makes many calls of one step), or made here
  if (!w_units.defined() || w_units.numel() == 0) {
    w_units = by_unit(w, H);
  } else {
    TORCH_CHECK(w_units.scalar_type() == torch::kFloat32 && w_units.is_contiguous() &&
                    w_units.device().is_cpu() && w_units.dim() == 3 && w_units.size(0) == H &&
                    w_units.size(1) == w.size(1) && w_units.size(2) == 4,
                "sk_plstm kernel: w_units must be empty or w regrouped by unit, a contiguous "
                "float32 (", H, ", ", w.size(1), ", 4) tensor, got ", w_units.sizes());
  }
  if (times.scalar_type() == torch::kFloat64)
    return sparse_forward_impl<double>(x, xp, times, mask, w_units, bias, tau, shift, r_on, h0,
                                       c0, reverse);
  return sparse_forward_impl<float>(x, xp, times, mask, w_units, bias, tau, shift, r_on, h0, c0,
                                    reverse);
}

// ------------------------------------------------------------------ streaming
// The shortest text of v that reads back as v (as Python prints a float).
inline std::string shortest(double v) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof(text), "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  return text;
}

// A stack of Phased LSTM layers fed one series, event by event (sk_plstm.nn.LayerStream).
// Each layer keeps its weights regrouped by unit (by_unit), its biases and gate
// parameters, and the version counters of the parameters they were made from: once one
// of them changes, update returns None and the caller lays that layer out again
// (set_layer). The state (h, c) of every layer and the time of the last event stay
// between calls. An event's arithmetic is a lone sample's in sparse_forward (open units
// only, their sums in the order of the columns): the outputs are the same to the bit.
// Events are checked as LayerStream checks them on its other path, with its messages.
class Stream {
 public:
  Stream(int64_t input_size, int64_t hidden_size, int64_t num_layers)
      : H_(hidden_size), layers_(static_cast<size_t>(num_layers)) {
    TORCH_CHECK(input_size > 0 && hidden_size > 0 && num_layers > 0,
                "sk_plstm kernel: a stream needs positive sizes");
    for (int64_t i = 0; i < num_layers; ++i) {
      Layer& l = layers_[static_cast<size_t>(i)];
      l.C = i == 0 ? input_size : hidden_size;
      l.h.assign(static_cast<size_t>(H_), 0.0f);
      l.c.assign(static_cast<size_t>(H_), 0.0f);
    }
    const int64_t widest = H_ + std::max(input_size, hidden_size);
    k_.resize(static_cast<size_t>(H_));
    hx_.resize(static_cast<size_t>(widest));
    sums_.resize(static_cast<size_t>(4 * H_));
    g_.resize(static_cast<size_t>(4 * H_ + 8));
    open_.reserve(static_cast<size_t>(H_));
  }

  // Layer i's weights (w_units: (H, H + C, 4)), summed bias (4H), effective tau, shift and
  // r_on (H), and the tensors whose versions (and places) say when they are out of date.
  void set_layer(int64_t i, torch::Tensor w_units, torch::Tensor bias, torch::Tensor tau,
                 torch::Tensor shift, torch::Tensor r_on, std::vector<torch::Tensor> watched) {
    TORCH_CHECK(i >= 0 && i < static_cast<int64_t>(layers_.size()),
                "sk_plstm kernel: no layer ", i, " in this stream");
    Layer& l = layers_[static_cast<size_t>(i)];
    const std::pair<const char*, const torch::Tensor*> floats[] = {
        {"w_units", &w_units}, {"bias", &bias}, {"tau", &tau}, {"shift", &shift},
        {"r_on", &r_on}};
    for (const auto& [name, t] : floats)
      TORCH_CHECK(t->device().is_cpu() && t->scalar_type() == torch::kFloat32 &&
                      t->is_contiguous(),
                  "sk_plstm kernel: ", name, " must be a contiguous float32 CPU tensor");
    TORCH_CHECK(w_units.dim() == 3 && w_units.size(0) == H_ && w_units.size(1) == H_ + l.C &&
                    w_units.size(2) == 4,
                "sk_plstm kernel: w_units must be (", H_, ", ", H_ + l.C, ", 4), got ",
                w_units.sizes());
    TORCH_CHECK(bias.dim() == 1 && bias.size(0) == 4 * H_, "sk_plstm kernel: bias must be (",
                4 * H_, "), got ", bias.sizes());
    for (const auto* t : {&tau, &shift, &r_on})
      TORCH_CHECK(t->dim() == 1 && t->size(0) == H_,
                  "sk_plstm kernel: tau, shift and r_on must be (", H_, "), got ", t->sizes());
    l.w_u = w_units;
    l.r_on = r_on;
    l.bias_u = bias_by_unit(bias, H_);
    l.gp.emplace(tau, shift, r_on, 0.0);
    l.versions.clear();
    l.data.clear();
    for (const auto& w : watched) {
      l.versions.push_back(w._version());
      l.data.push_back(w.data_ptr());
    }
    l.watched = std::move(watched);
  }

  // Feed x (events, C) or (C,) at times (events): the last layer's outputs (events, H), or
  // None when a layer is out of date (nothing is changed then).
  torch::Tensor update(torch::Tensor x, torch::Tensor times) {
    if (stale()) return {};
    x = inputs(x);
    const int64_t T = x.size(0);
    if (times.numel() != T)
      throw pybind11::value_error("x has " + std::to_string(T) + " events but times has " +
                                  std::to_string(times.numel()) + ".");
    times = times.to(torch::kCPU, torch::kFloat64).contiguous();
    const double* t = times.data_ptr<double>();
    check_times(t, T);
    auto out = torch::empty({T, H_}, x.options());
    const float* const x_p = x.data_ptr<float>();
    for (int64_t n = 0; n < T; ++n)
      std::memcpy(out.data_ptr<float>() + n * H_, step(t[n], x_p + n * layers_[0].C, nullptr),
                  H_ * sizeof(float));
    last_time = t[T - 1];
    return out;
  }

  // update with one event at time t.
  torch::Tensor update_at(torch::Tensor x, double t) {
    if (stale()) return {};
    x = inputs(x);
    if (x.size(0) != 1)
      throw pybind11::value_error("x has " + std::to_string(x.size(0)) +
                                  " events but times has 1.");
    check_times(&t, 1);
    auto out = torch::empty({1, H_}, x.options());
    std::memcpy(out.data_ptr<float>(), step(t, x.data_ptr<float>(), nullptr), H_ * sizeof(float));
    last_time = t;
    return out;
  }

  // Feed events by index: times (n, non-decreasing; equal times are one step), channels
  // (n) in [0, C) and values (n; empty: ones). The first layer adds each event's column of
  // its input weights, for its open units only. Returns the last layer's outputs after
  // each step (steps, H), or None when a layer is out of date. Checks as
  // sk_plstm.nn._events.check_stream, with its messages.
  torch::Tensor update_events(torch::Tensor times, torch::Tensor channels, torch::Tensor values) {
    if (stale()) return {};
    times = times.to(torch::kCPU, torch::kFloat64).contiguous();
    channels = channels.to(torch::kCPU, torch::kInt64).contiguous();
    const int64_t n = times.numel();
    values = values.numel() == 0 && channels.numel() == n ? torch::ones({n}, torch::kFloat32)
                                                          : values.to(torch::kCPU, torch::kFloat32).contiguous();
    if (channels.numel() != n || values.numel() != n)
      throw pybind11::value_error(
          "the events: times, channels and values must have one entry per event, got " +
          std::to_string(n) + ", " + std::to_string(channels.numel()) + " and " +
          std::to_string(values.numel()) + ".");
    const double* const t = times.data_ptr<double>();
    const int64_t* const c = channels.data_ptr<int64_t>();
    const float* const v = values.data_ptr<float>();
    const int64_t C = layers_[0].C;
    int64_t low = 0, high = 0, steps = 0;
    for (int64_t e = 0; e < n; ++e) {
      if (!std::isfinite(t[e])) throw pybind11::value_error("the events: times must be finite.");
      if (!std::isfinite(v[e])) throw pybind11::value_error("the events: values must be finite.");
      if (e > 0 && t[e] < t[e - 1])
        throw pybind11::value_error(
            "the events: times must be non-decreasing (events in time order).");
      low = e == 0 ? c[e] : std::min(low, c[e]);
      high = e == 0 ? c[e] : std::max(high, c[e]);
      steps += e == 0 || t[e] != t[e - 1];
    }
    if (n > 0 && (low < 0 || high >= C))
      throw pybind11::value_error("the events: channels must lie in [0, " + std::to_string(C) +
                                  "), got " + std::to_string(low) + " .. " +
                                  std::to_string(high) + ".");
    if (n > 0) check_times(t, 1);  // after the last event fed
    auto out = torch::empty({steps, H_}, torch::kFloat32);
    float* const out_p = out.data_ptr<float>();
    for (int64_t e = 0, s = 0; e < n; ++s) {
      int64_t end = e + 1;
      while (end < n && t[end] == t[e]) ++end;
      const Indexed events{c + e, v + e, end - e};
      std::memcpy(out_p + s * H_, step(t[e], nullptr, &events), H_ * sizeof(float));
      e = end;
    }
    if (n > 0) last_time = t[n - 1];
    return out;
  }

  // h of every layer, then c of every layer, each (1, H).
  std::vector<torch::Tensor> state() const {
    std::vector<torch::Tensor> out;
    for (const auto part : {&Layer::h, &Layer::c})
      for (const Layer& l : layers_)
        out.push_back(torch::from_blob(const_cast<float*>((l.*part).data()), {1, H_},
                                       torch::kFloat32).clone());
    return out;
  }

  // The state, h and c of every layer (each H values), and no last event.
  void set_state(const std::vector<torch::Tensor>& h, const std::vector<torch::Tensor>& c) {
    TORCH_CHECK(h.size() == layers_.size() && c.size() == layers_.size(),
                "sk_plstm kernel: a stream's state has one h and one c per layer");
    for (size_t i = 0; i < layers_.size(); ++i)
      for (const auto& [part, given] : {std::pair{&Layer::h, &h[i]}, std::pair{&Layer::c, &c[i]}}) {
        const auto v = given->to(torch::kCPU, torch::kFloat32).contiguous();
        TORCH_CHECK(v.numel() == H_, "sk_plstm kernel: a state tensor must have ", H_,
                    " values, got ", v.numel());
        std::memcpy((layers_[i].*part).data(), v.data_ptr<float>(), H_ * sizeof(float));
      }
    last_time = std::nullopt;
  }

  std::optional<double> last_time;

 private:
  struct Layer {
    int64_t C = 0;
    torch::Tensor w_u, r_on;  // r_on: gp reads it in place
    std::vector<float> bias_u, h, c;
    std::optional<GateParams<double>> gp;
    std::vector<torch::Tensor> watched;
    std::vector<int64_t> versions;
    std::vector<const void*> data;  // where they lie: moved or cast, they are out of date
  };

  bool stale() const {
    for (const Layer& l : layers_) {
      if (!l.gp) return true;
      for (size_t n = 0; n < l.watched.size(); ++n)
        if (l.watched[n]._version() != l.versions[n] || l.watched[n].data_ptr() != l.data[n])
          return true;
    }
    return false;
  }

  // x as (events, C) float32 on the CPU, or the error LayerStream gives.
  torch::Tensor inputs(torch::Tensor x) const {
    const int64_t C = layers_[0].C;
    const auto given = x.sizes().vec();
    if (x.dim() == 1) x = x.view({1, -1});
    if (x.dim() != 2 || x.size(1) != C) {
      std::string shape = "(";
      for (size_t d = 0; d < given.size(); ++d)
        shape += (d ? ", " : "") + std::to_string(given[d]);
      shape += given.size() == 1 ? ",)" : ")";
      throw pybind11::value_error("x must have shape (events, " + std::to_string(C) + ") or (" +
                                  std::to_string(C) + ",), got " + shape + ".");
    }
    return x.to(torch::kCPU, torch::kFloat32).contiguous();
  }

  // The events of one step given by index: channels c and values v, n of them.
  struct Indexed {
    const int64_t* c;
    const float* v;
    int64_t n;
  };

  // Check the times of T events at t (increasing, finite, after the last event fed).
  void check_times(const double* t, int64_t T) const {
    for (int64_t n = 1; n < T; ++n)
      if (!(t[n] > t[n - 1])) throw pybind11::value_error("times must be strictly increasing.");
    const double first = t[0], last = t[T - 1];
    if (!(std::isfinite(first) && std::isfinite(last)))
      throw pybind11::value_error("times must be finite, got " + shortest(first) + " .. " +
                                  shortest(last) + ".");
    if (last_time && !(first > *last_time))
      throw pybind11::value_error("The events must come after the last one fed (at " +
                                  shortest(*last_time) + "), got one at " + shortest(first) +
                                  ".");
  }

  // Advance every layer over one step at time t, the first layer's input the C values at
  // in, or the events given by index; returns the last layer's h (H values).
  const float* step(double t, const float* in, const Indexed* events) {
    for (Layer& l : layers_) {
      open_at<double>(t, *l.gp, 1.0f, H_, k_.data(), open_);
      if (!open_.empty()) {  // every gate of the event before any state changes
        const int64_t columns = events != nullptr ? 0 : l.C, W = H_ + l.C;
        const float* const w_u = l.w_u.data_ptr<float>();
        std::memcpy(hx_.data(), l.h.data(), H_ * sizeof(float));
        if (columns > 0) std::memcpy(hx_.data() + H_, in, columns * sizeof(float));
        lone_sums(w_u, l.bias_u.data(), open_, hx_.data(), H_ + columns, W, sums_.data(),
                  g_.data());
        if (events != nullptr) {  // each event's column of the input weights
          const int64_t J = static_cast<int64_t>(open_.size());
          for (int64_t e = 0; e < events->n; ++e)
            for (int64_t m = 0; m < J; ++m) {
              const float* col = w_u + (open_[m] * W + H_ + events->c[e]) * 4;
              for (int64_t q = 0; q < 4; ++q) g_[q * J + m] += events->v[e] * col[q];
            }
        }
        update_open(g_.data(), open_, k_.data(), l.h.data(), l.c.data());
      }
      in = l.h.data();
      events = nullptr;
    }
    return in;
  }

  int64_t H_;
  std::vector<Layer> layers_;
  std::vector<float> k_, hx_, sums_, g_;  // scratch of one event
  std::vector<int64_t> open_;
};

// ------------------------------------------------------------------ Phased GRU
// The GRU recurrence from precomputed inputs: xp (T, B, 3H) = x w_ih^T + b_ih (gate order
// reset, update, new, as torch.nn.GRU), the openness k (T, B, H) of every step (computed
// for all steps at once by sk_plstm.nn.time_gate, masks applied), w_hh (3H, H), b_hh (3H),
// h0 (B, H). Each step runs one product h @ w_hh^T + b_hh (the reset gate multiplies its
// third block, so it cannot be fused with the input part) and one fused elementwise pass.
void check_gru(const torch::Tensor& xp, const torch::Tensor& k, const torch::Tensor& w_hh,
               const torch::Tensor& b_hh, const torch::Tensor& h0) {
  const std::pair<const char*, const torch::Tensor*> floats[] = {
      {"xp", &xp}, {"k", &k}, {"w_hh", &w_hh}, {"b_hh", &b_hh}, {"h0", &h0}};
  for (const auto& [name, t] : floats) {
    TORCH_CHECK(t->device().is_cpu(), "sk_plstm GRU kernel: ", name, " must be on the CPU");
    TORCH_CHECK(t->scalar_type() == torch::kFloat32, "sk_plstm GRU kernel: ", name,
                " must be float32, got ", t->scalar_type());
    TORCH_CHECK(t->is_contiguous(), "sk_plstm GRU kernel: ", name, " must be contiguous");
  }
  TORCH_CHECK(h0.dim() == 2, "sk_plstm GRU kernel: h0 must be (batch, hidden), got ", h0.sizes());
  const int64_t B = h0.size(0), H = h0.size(1);
  TORCH_CHECK(xp.dim() == 3 && xp.size(1) == B && xp.size(2) == 3 * H,
              "sk_plstm GRU kernel: xp must be (steps, batch, 3 * hidden) = (steps, ", B, ", ",
              3 * H, "), got ", xp.sizes());
  TORCH_CHECK(k.dim() == 3 && k.size(0) == xp.size(0) && k.size(1) == B && k.size(2) == H,
              "sk_plstm GRU kernel: k must be (steps, batch, hidden) = (", xp.size(0), ", ", B,
              ", ", H, "), got ", k.sizes());
  TORCH_CHECK(w_hh.dim() == 2 && w_hh.size(0) == 3 * H && w_hh.size(1) == H,
              "sk_plstm GRU kernel: w_hh must be (3 * hidden, hidden) = (", 3 * H, ", ", H,
              "), got ", w_hh.sizes());
  TORCH_CHECK(b_hh.dim() == 1 && b_hh.size(0) == 3 * H, "sk_plstm GRU kernel: b_hh must be (",
              3 * H, "), got ", b_hh.sizes());
}

// Returns out (T, B, H), h_n and, with `save`, (T, B, 4H): r, z, n and w_hn h + b_hn of
// every step, for the backward pass.
std::vector<torch::Tensor> gru_forward(torch::Tensor xp, torch::Tensor k, torch::Tensor w_hh,
                                       torch::Tensor b_hh, torch::Tensor h0, bool reverse,
                                       bool save) {
  check_gru(xp, k, w_hh, b_hh, h0);
  const int64_t T = xp.size(0), B = xp.size(1), H = h0.size(1);
  auto opts = xp.options();
  auto out = large({T, B, H}, opts);
  auto saved = save ? large({T, B, 4 * H}, opts) : torch::Tensor();
  auto h = h0.clone();
  auto gh = torch::empty({B, 3 * H}, opts);
  auto w_t = w_hh.t();
  const float* const xp_p = xp.data_ptr<float>();
  const float* const k_p = k.data_ptr<float>();
  const float* const gh_p = gh.data_ptr<float>();
  float* const h_p = h.data_ptr<float>();
  float* const out_p = out.data_ptr<float>();
  float* const sv_p = save ? saved.data_ptr<float>() : nullptr;
  for (int64_t n = 0; n < T; ++n) {
    const int64_t t = reverse ? T - 1 - n : n;
    at::addmm_out(gh, b_hh, h, w_t);
    at::parallel_for(0, B, grain_rows(3 * H), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t row = t * B + b;
        const float* __restrict__ xr = xp_p + row * 3 * H;
        const float* __restrict__ g = gh_p + b * 3 * H;
        const float* __restrict__ kr = k_p + row * H;
        float* __restrict__ hr = h_p + b * H;
        float* __restrict__ orow = out_p + row * H;
        float* __restrict__ sv = save ? sv_p + row * 4 * H : nullptr;
        for (int64_t j = 0; j < H; ++j) {
          const float r = sigmoid_v(xr[j] + g[j]);
          const float z = sigmoid_v(xr[H + j] + g[H + j]);
          const float nn = tanh_v(xr[2 * H + j] + r * g[2 * H + j]);
          const float h_prev = hr[j];
          const float h_tilde = nn + z * (h_prev - nn);
          const float h_new = h_prev + kr[j] * (h_tilde - h_prev);
          hr[j] = h_new;
          orow[j] = h_new;
          if (save) {
            sv[j] = r;
            sv[H + j] = z;
            sv[2 * H + j] = nn;
            sv[3 * H + j] = g[2 * H + j];
          }
        }
      }
    });
  }
  if (save) return {out, h, saved};
  return {out, h};
}

// Backward of gru_forward: returns the gradients of xp, k, the recurrent pre-activations
// w_hh h + b_hh of every step (T, B, 3H; the weight and bias gradients are one product and
// one sum over them, done by the caller) and h0.
std::vector<torch::Tensor> gru_backward(torch::Tensor d_out, torch::Tensor d_hn, torch::Tensor xp,
                                        torch::Tensor k, torch::Tensor w_hh, torch::Tensor b_hh,
                                        torch::Tensor h0, torch::Tensor out, torch::Tensor saved,
                                        bool reverse) {
  check_gru(xp, k, w_hh, b_hh, h0);
  const int64_t T = xp.size(0), B = xp.size(1), H = h0.size(1);
  TORCH_CHECK(d_out.scalar_type() == torch::kFloat32 && d_out.is_contiguous() &&
                  d_out.sizes() == out.sizes() && out.is_contiguous() && out.dim() == 3 &&
                  out.size(0) == T && out.size(1) == B && out.size(2) == H,
              "sk_plstm GRU kernel: d_out and out must be contiguous float32 (steps, batch, "
              "hidden) tensors");
  TORCH_CHECK(saved.scalar_type() == torch::kFloat32 && saved.is_contiguous() &&
                  saved.dim() == 3 && saved.size(0) == T && saved.size(1) == B &&
                  saved.size(2) == 4 * H,
              "sk_plstm GRU kernel: saved must be a contiguous float32 (steps, batch, 4 * hidden) "
              "tensor, got ", saved.sizes());
  TORCH_CHECK(d_hn.sizes() == h0.sizes() && d_hn.is_contiguous() &&
                  d_hn.scalar_type() == torch::kFloat32,
              "sk_plstm GRU kernel: d_hn must be a contiguous float32 (batch, hidden) tensor");
  auto opts = xp.options();
  auto d_xp = large({T, B, 3 * H}, opts);
  auto d_gh = large({T, B, 3 * H}, opts);
  auto d_k = large({T, B, H}, opts);
  auto dh = d_hn.clone();
  auto dn = torch::empty({B, H}, opts);  // the direct part of the gradient of h_{t-1}
  const float* const dout_p = d_out.data_ptr<float>();
  const float* const k_p = k.data_ptr<float>();
  const float* const out_p = out.data_ptr<float>();
  const float* const sv_p = saved.data_ptr<float>();
  const float* const h0_p = h0.data_ptr<float>();
  float* const dh_p = dh.data_ptr<float>();
  float* const dn_p = dn.data_ptr<float>();
  float* const dxp_p = d_xp.data_ptr<float>();
  float* const dgh_p = d_gh.data_ptr<float>();
  float* const dk_p = d_k.data_ptr<float>();
  for (int64_t n = T - 1; n >= 0; --n) {
    const int64_t t = reverse ? T - 1 - n : n;
    const int64_t t_prev = reverse ? t + 1 : t - 1;
    at::parallel_for(0, B, grain_rows(3 * H), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t row = t * B + b;
        const float* __restrict__ sv = sv_p + row * 4 * H;
        const float* __restrict__ hp = n == 0 ? h0_p + b * H : out_p + (t_prev * B + b) * H;
        const float* __restrict__ kr = k_p + row * H;
        const float* __restrict__ dout = dout_p + row * H;
        const float* __restrict__ dhr = dh_p + b * H;
        float* __restrict__ dx = dxp_p + row * 3 * H;
        float* __restrict__ dg = dgh_p + row * 3 * H;
        float* __restrict__ dkr = dk_p + row * H;
        float* __restrict__ dnr = dn_p + b * H;
        for (int64_t j = 0; j < H; ++j) {
          const float r = sv[j], z = sv[H + j], nn = sv[2 * H + j], hn = sv[3 * H + j];
          const float h_prev = hp[j];
          const float dh_j = dhr[j] + dout[j];
          const float h_tilde = nn + z * (h_prev - nn);
          const float kj = kr[j];
          dkr[j] = dh_j * (h_tilde - h_prev);
          const float dht = dh_j * kj;
          const float d_n = dht * (1.0f - z) * (1.0f - nn * nn);
          const float d_r = d_n * hn * r * (1.0f - r);
          const float d_z = dht * (h_prev - nn) * z * (1.0f - z);
          dx[j] = d_r;
          dx[H + j] = d_z;
          dx[2 * H + j] = d_n;
          dg[j] = d_r;
          dg[H + j] = d_z;
          dg[2 * H + j] = d_n * r;
          dnr[j] = dh_j * (1.0f - kj) + dht * z;
        }
      }
    });
    at::addmm_out(dh, dn, d_gh[t], w_hh);  // dh_{t-1} = direct part + d_gh @ w_hh
  }
  return {d_xp, d_k, d_gh, dh};
}


// Event-driven inference of the Phased GRU (no leak, no gradient): a closed unit keeps
// its state exactly, so each step computes only the open units of each sample, each from
// dot products with its rows of w_ih (3H, C) and w_hh (3H, H); a sample's result therefore
// does not depend on the other samples of the batch. k (T, B, H) is the openness (0 where
// closed or padded). Input by index: w_ih empty and x the input projection (T, B, 3H,
// gathered by the caller, without b_ih). Returns out, h_n and the number of (sample,
// step, unit) updates.
std::vector<torch::Tensor> gru_sparse_forward(torch::Tensor x, torch::Tensor k, torch::Tensor w_ih,
                                              torch::Tensor b_ih, torch::Tensor w_hh,
                                              torch::Tensor b_hh, torch::Tensor h0, bool reverse) {
  TORCH_CHECK(x.dim() == 3 && x.device().is_cpu() && x.scalar_type() == torch::kFloat32 &&
                  x.is_contiguous(),
              "sk_plstm GRU kernel: x must be a contiguous float32 (steps, batch, inputs) tensor");
  const int64_t C = x.size(2);
  const bool projected = w_ih.numel() == 0;
  TORCH_CHECK((projected ? C == w_hh.size(0)
                         : w_ih.dim() == 2 && w_ih.size(0) == w_hh.size(0) && w_ih.size(1) == C &&
                               w_ih.scalar_type() == torch::kFloat32 && w_ih.is_contiguous()) &&
                  b_ih.sizes() == b_hh.sizes() && b_ih.scalar_type() == torch::kFloat32 &&
                  b_ih.is_contiguous(),
              "sk_plstm GRU kernel: w_ih must be (3 * hidden, inputs), or empty with x the input "
              "projection (steps, batch, 3 * hidden), and b_ih (3 * hidden), contiguous float32");
  check_gru(torch::empty({x.size(0), x.size(1), w_hh.size(0)}), k, w_hh, b_hh, h0);
  const int64_t T = x.size(0), B = x.size(1), H = h0.size(1);
  auto out = large({T, B, H}, x.options());
  auto h = h0.clone();
  const int n_threads = at::get_num_threads();
  std::vector<float> scratch(static_cast<size_t>(n_threads) * H);
  std::vector<int64_t> counts(static_cast<size_t>(n_threads), 0);
  const float* const x_p = x.data_ptr<float>();
  const float* const k_p = k.data_ptr<float>();
  const float* const wi = projected ? nullptr : w_ih.data_ptr<float>();
  const float* const bi = b_ih.data_ptr<float>();
  const float* const wh = w_hh.data_ptr<float>();
  const float* const bh = b_hh.data_ptr<float>();
  float* const h_p = h.data_ptr<float>();
  float* const out_p = out.data_ptr<float>();
  for (int64_t n = 0; n < T; ++n) {
    const int64_t t = reverse ? T - 1 - n : n;
    at::parallel_for(0, B, 1, [&](int64_t b0, int64_t b1) {
      const int thread = at::get_thread_num();
      float* __restrict__ next = scratch.data() + static_cast<size_t>(thread) * H;
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t row = t * B + b;
        const float* __restrict__ xr = x_p + row * C;
        const float* __restrict__ kr = k_p + row * H;
        float* __restrict__ hr = h_p + b * H;
        for (int64_t j = 0; j < H; ++j) {
          const float kj = kr[j];
          if (!(kj > 0.0f)) {
            next[j] = hr[j];
            continue;
          }
          ++counts[thread];
          // the input part of gate row q H + j
          const auto in = [&](int64_t q) {
            const int64_t i = q * H + j;
            return (projected ? xr[i] : dot(wi + i * C, xr, C)) + bi[i];
          };
          const float r = sigmoid_v(in(0) + dot(wh + j * H, hr, H) + bh[j]);
          const float z = sigmoid_v(in(1) + dot(wh + (H + j) * H, hr, H) + bh[H + j]);
          const float nn = tanh_v(in(2) + r * (dot(wh + (2 * H + j) * H, hr, H) + bh[2 * H + j]));
          const float h_tilde = nn + z * (hr[j] - nn);
          next[j] = hr[j] + kj * (h_tilde - hr[j]);
        }
        for (int64_t j = 0; j < H; ++j) {
          hr[j] = next[j];
          out_p[row * H + j] = next[j];
        }
      }
    });
  }
  int64_t updates = 0;
  for (const int64_t c : counts) updates += c;
  return {out, h, torch::tensor(updates, torch::kInt64)};
}

// ------------------------------------------------------------------ input by index
// Events given by index (sk_plstm.nn.EventInput): indices (N, k) int64, -1 where a row has
// fewer than k events, and their values (N, k) float32; table (C, R) holds the input
// weights' columns as rows (w_ih transposed).
void check_events(const torch::Tensor& indices, const torch::Tensor& values, int64_t C) {
  TORCH_CHECK(indices.device().is_cpu() && indices.scalar_type() == torch::kInt64 &&
                  indices.is_contiguous() && indices.dim() == 2,
              "sk_plstm kernel: indices must be a contiguous int64 (rows, k) CPU tensor");
  TORCH_CHECK(values.device().is_cpu() && values.scalar_type() == torch::kFloat32 &&
                  values.is_contiguous() && values.sizes() == indices.sizes(),
              "sk_plstm kernel: values must be a contiguous float32 tensor of the shape of indices");
  const int64_t* const ip = indices.data_ptr<int64_t>();
  for (int64_t e = 0; e < indices.numel(); ++e)
    TORCH_CHECK(ip[e] >= -1 && ip[e] < C, "sk_plstm kernel: an index ", ip[e],
                " lies outside [0, ", C, ")");
}

// The rows' input projections: out[n] = sum over slots of values[n, s] table[indices[n, s]],
// (N, R), in a buffer of large pages; rows are shared by threads.
torch::Tensor gather_rows(torch::Tensor indices, torch::Tensor values, torch::Tensor table) {
  TORCH_CHECK(table.device().is_cpu() && table.scalar_type() == torch::kFloat32 &&
                  table.is_contiguous() && table.dim() == 2,
              "sk_plstm kernel: table must be a contiguous float32 (channels, rows) CPU tensor");
  check_events(indices, values, table.size(0));
  const int64_t N = indices.size(0), k = indices.size(1), R = table.size(1);
  auto out = large({N, R}, table.options());
  const int64_t* const ip = indices.data_ptr<int64_t>();
  const float* const vp = values.data_ptr<float>();
  const float* const tp = table.data_ptr<float>();
  float* const op = out.data_ptr<float>();
  at::parallel_for(0, N, grain_rows(R), [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      float* __restrict__ o = op + n * R;
      std::fill(o, o + R, 0.0f);
      for (int64_t s = 0; s < k; ++s) {
        const int64_t c = ip[n * k + s];
        if (c < 0) continue;
        const float v = vp[n * k + s];
        const float* __restrict__ row = tp + c * R;
        for (int64_t r = 0; r < R; ++r) o[r] = muladd(v, row[r], o[r]);
      }
    }
  });
  return out;
}

// The gradient of gather_rows' table: d_table[c] = sum over events at channel c of their
// value times their row's gradient (C, R). Threads own slices of the R columns, so each
// sum is made in the order of the events, whatever the number of threads.
torch::Tensor scatter_rows(torch::Tensor indices, torch::Tensor values, torch::Tensor grad,
                           int64_t channels) {
  TORCH_CHECK(grad.device().is_cpu() && grad.scalar_type() == torch::kFloat32 &&
                  grad.is_contiguous() && grad.dim() == 2 && grad.size(0) == indices.size(0),
              "sk_plstm kernel: grad must be a contiguous float32 (rows, R) CPU tensor");
  check_events(indices, values, channels);
  const int64_t N = indices.size(0), k = indices.size(1), R = grad.size(1);
  auto d_table = torch::zeros({channels, R}, grad.options());
  const int64_t* const ip = indices.data_ptr<int64_t>();
  const float* const vp = values.data_ptr<float>();
  const float* const gp = grad.data_ptr<float>();
  float* const dp = d_table.data_ptr<float>();
  constexpr int64_t kColumns = 64;
  at::parallel_for(0, (R + kColumns - 1) / kColumns, 1, [&](int64_t b0, int64_t b1) {
    const int64_t r0 = b0 * kColumns, r1 = std::min(R, b1 * kColumns);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t s = 0; s < k; ++s) {
        const int64_t c = ip[n * k + s];
        if (c < 0) continue;
        const float v = vp[n * k + s];
        const float* __restrict__ g = gp + n * R;
        float* __restrict__ d = dp + c * R;
        for (int64_t r = r0; r < r1; ++r) d[r] = muladd(v, g[r], d[r]);
      }
  });
  return d_table;
}

}  // namespace

// The arguments have names, in one order for every entry point (the recurrence's tensors,
// then its settings), and Python passes them by name.
PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  namespace py = pybind11;
  m.def("forward", &forward, "Fused Phased LSTM recurrence (CPU, float32)", py::arg("x"),
        py::arg("times"), py::arg("mask"), py::arg("w"), py::arg("bias"), py::arg("tau"),
        py::arg("shift"), py::arg("r_on"), py::arg("h0"), py::arg("c0"), py::arg("leak"),
        py::arg("reverse"), py::arg("save"), py::arg("w_blocked") = torch::empty({0}),
        py::arg("bias_blocked") = torch::empty({0}), py::arg("xp") = torch::empty({0}));
  m.def("block_weights", &block_weights, "w and bias laid out as forward lays them out",
        py::arg("w"), py::arg("bias"));
  m.def("backward", &backward, "Backward of the fused Phased LSTM recurrence (CPU, float32)",
        py::arg("d_out"), py::arg("d_hn"), py::arg("d_cn"), py::arg("x"), py::arg("times"),
        py::arg("mask"), py::arg("w"), py::arg("bias"), py::arg("tau"), py::arg("shift"),
        py::arg("r_on"), py::arg("h0"), py::arg("c0"), py::arg("out"), py::arg("cs"),
        py::arg("acts"), py::arg("leak"), py::arg("reverse"), py::arg("xp") = torch::empty({0}));
  m.def("sparse_forward", &sparse_forward, "Event-driven inference: open units only (CPU, float32)",
        py::arg("x"), py::arg("times"), py::arg("mask"), py::arg("w"), py::arg("bias"),
        py::arg("tau"), py::arg("shift"), py::arg("r_on"), py::arg("h0"), py::arg("c0"),
        py::arg("reverse"), py::arg("w_units") = torch::empty({0}),
        py::arg("xp") = torch::empty({0}));
  py::class_<Stream>(m, "Stream", "Event-by-event inference through Phased LSTM layers (CPU)")
      .def(py::init<int64_t, int64_t, int64_t>(), py::arg("input_size"), py::arg("hidden_size"),
           py::arg("num_layers"))
      .def("set_layer", &Stream::set_layer, py::arg("i"), py::arg("w_units"), py::arg("bias"),
           py::arg("tau"), py::arg("shift"), py::arg("r_on"), py::arg("watched"))
      .def("update", &Stream::update, py::arg("x"), py::arg("times"))
      .def("update_at", &Stream::update_at, py::arg("x"), py::arg("t"))
      .def("update_events", &Stream::update_events, py::arg("times"), py::arg("channels"),
           py::arg("values") = torch::empty({0}))
      .def("state", &Stream::state)
      .def("set_state", &Stream::set_state, py::arg("h"), py::arg("c"))
      .def_readwrite("last_time", &Stream::last_time);
  m.def("gather_rows", &gather_rows, "Input projection of events by index (CPU, float32)",
        py::arg("indices"), py::arg("values"), py::arg("table"));
  m.def("scatter_rows", &scatter_rows, "Gradient of gather_rows' table (CPU, float32)",
        py::arg("indices"), py::arg("values"), py::arg("grad"), py::arg("channels"));
  m.def("gru_forward", &gru_forward, "Phased GRU recurrence (CPU, float32)", py::arg("xp"),
        py::arg("k"), py::arg("w_hh"), py::arg("b_hh"), py::arg("h0"), py::arg("reverse"),
        py::arg("save"));
  m.def("gru_backward", &gru_backward, "Backward of the Phased GRU recurrence (CPU, float32)",
        py::arg("d_out"), py::arg("d_hn"), py::arg("xp"), py::arg("k"), py::arg("w_hh"),
        py::arg("b_hh"), py::arg("h0"), py::arg("out"), py::arg("saved"), py::arg("reverse"));
  m.def("gru_sparse_forward", &gru_sparse_forward,
        "Event-driven inference of the Phased GRU: open units only (CPU, float32)", py::arg("x"),
        py::arg("k"), py::arg("w_ih"), py::arg("b_ih"), py::arg("w_hh"), py::arg("b_hh"),
        py::arg("h0"), py::arg("reverse"));
}

#include "mixers/rglru.h"

#include <string>

#include "backend/cpu/matmul.h"
#include "backend/cpu/ops.h"
#include "backend/cpu/rglru.h"
#include "backend/cpu/ssm.h"
#include "core/error.h"

namespace ma {
namespace {

enum : int { kWsX = kWsMixerFirst, kWsY, kWsConv, kWsGates, kWsLru };

void check_size(const std::vector<float>& v, int64_t n, const char* what) {
  if (static_cast<int64_t>(v.size()) != n) {
    throw Error(std::string("RG-LRU: ") + what + " has " + std::to_string(v.size()) +
                " values, expected " + std::to_string(n));
  }
}

void check_matrix(const Weight& w, int64_t in, int64_t out, const char* what) {
  if (w.in != in || w.out != out) {
    throw Error(std::string("RG-LRU: ") + what + " is {" + std::to_string(w.in) + ", " +
                std::to_string(w.out) + "}, expected {" + std::to_string(in) + ", " +
                std::to_string(out) + "}");
  }
}

}  // namespace

RgLruMixer::RgLruMixer(RgLruWeights w, RgLruShape shape) : w_(std::move(w)), shape_(shape) {
  const auto& s = shape_;
  if (s.n_embd <= 0 || s.width <= 0 || s.n_head <= 0 || s.width % s.n_head != 0 || s.d_conv < 1 ||
      s.d_conv > cpu::kMaxConvKernel) {
    throw Error("RG-LRU: invalid shape (n_embd " + std::to_string(s.n_embd) + ", width " +
                std::to_string(s.width) + ", heads " + std::to_string(s.n_head) + ", d_conv " +
                std::to_string(s.d_conv) + ")");
  }
  const int64_t b = s.width / s.n_head;
  check_matrix(w_.x_proj, s.n_embd, s.width, "linear_x");
  check_matrix(w_.y_proj, s.n_embd, s.width, "linear_y");
  check_matrix(w_.out, s.width, s.n_embd, "linear_out");
  check_size(w_.x_bias, s.width, "linear_x bias");
  check_size(w_.y_bias, s.width, "linear_y bias");
  check_size(w_.out_bias, s.n_embd, "linear_out bias");
  check_size(w_.conv, s.width * s.d_conv, "conv1d weight");
  check_size(w_.conv_bias, s.width, "conv1d bias");
  check_size(w_.gate_x, s.n_head * b * b, "input gate weight");
  check_size(w_.gate_x_bias, s.width, "input gate bias");
  check_size(w_.gate_a, s.n_head * b * b, "recurrence gate weight");
  check_size(w_.gate_a_bias, s.width, "recurrence gate bias");
  check_size(w_.a_param, s.width, "recurrence parameter");
}

ref::RgLruParams RgLruMixer::lru_params() const {
  return {shape_.width,     shape_.n_head,         w_.gate_x.data(), w_.gate_x_bias.data(),
          w_.gate_a.data(), w_.gate_a_bias.data(), w_.a_param.data()};
}

void RgLruMixer::forward(ForwardContext& ctx, const float* x, float* out, int64_t slot) const {
  const int64_t n = ctx.n_tokens;
  const int64_t wd = shape_.width;
  float* xb = ctx.ws.get(kWsX, static_cast<size_t>(n * wd));             // [n x W] linear_x
  float* yb = ctx.ws.get(kWsY, static_cast<size_t>(n * wd));             // [n x W] linear_y
  float* xc = ctx.ws.get(kWsConv, static_cast<size_t>(n * wd));          // [n x W] conv output
  float* gates = ctx.ws.get(kWsGates, static_cast<size_t>(2 * n * wd));  // both gates
  float* h = ctx.ws.get(kWsLru, static_cast<size_t>(n * wd));            // [n x W] RG-LRU output
  float* conv_state = ctx.state.recurrent.slot(slot);
  float* lru_state = conv_state + conv_state_floats();

  cpu::matmul(ctx.pool, w_.x_proj, x, n, xb, ctx.matmul);
  cpu::add_bias(xb, w_.x_bias.data(), n, wd);
  cpu::matmul(ctx.pool, w_.y_proj, x, n, yb, ctx.matmul);
  cpu::add_bias(yb, w_.y_bias.data(), n, wd);
  cpu::causal_conv1d(ctx.pool, xb, wd, n, wd, w_.conv.data(), shape_.d_conv, w_.conv_bias.data(),
                     conv_state, xc);
  cpu::rglru(ctx.pool, xc, ctx.positions, n, lru_params(), gates, lru_state, h);
  cpu::geglu(yb, h, n * wd, h);  // h *= GeLU_tanh(y)
  cpu::matmul(ctx.pool, w_.out, h, n, out, ctx.matmul);
  cpu::add_bias(out, w_.out_bias.data(), n, shape_.n_embd);
}

}  // namespace ma

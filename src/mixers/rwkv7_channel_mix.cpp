#include "mixers/rwkv7_channel_mix.h"

#include <algorithm>
#include <string>

#include "backend/cpu/matmul.h"
#include "core/error.h"

namespace ma {

Rwkv7ChannelMix::Rwkv7ChannelMix(std::vector<float> lerp_k, Weight key, Weight value,
                                 Rwkv7SlotLayout layout)
    : lerp_k_(std::move(lerp_k)), key_(key), value_(value), layout_(layout) {
  const int64_t c = layout_.n_embd;
  if (static_cast<int64_t>(lerp_k_.size()) != c || key_.in != c || value_.in != key_.out ||
      value_.out != c) {
    throw Error("RWKV-7 channel mix: lerp_k of " + std::to_string(lerp_k_.size()) + ", key {" +
                std::to_string(key_.in) + ", " + std::to_string(key_.out) + "} and value {" +
                std::to_string(value_.in) + ", " + std::to_string(value_.out) +
                "} do not fit a width of " + std::to_string(c));
  }
}

void Rwkv7ChannelMix::forward(ForwardContext& ctx, const float* x, float* out) const {
  const int64_t n = ctx.n_tokens, c = layout_.n_embd, ff = key_.out;
  float* shift = ctx.state.recurrent.slot(ctx.layer_slot) + layout_.channel_shift();
  float* mixed = ctx.ws.get(kWsGate, static_cast<size_t>(n * c));
  float* hidden = ctx.ws.get(kWsUp, static_cast<size_t>(n * ff));
  for (int64_t t = 0; t < n; ++t) {
    const float* xt = x + t * c;
    const float* prev = t == 0 ? shift : xt - c;
    for (int64_t i = 0; i < c; ++i) mixed[t * c + i] = xt[i] + (prev[i] - xt[i]) * lerp_k_[i];
  }
  std::copy(x + (n - 1) * c, x + n * c, shift);
  cpu::matmul(ctx.pool, key_, mixed, n, hidden, ctx.matmul);
  for (int64_t i = 0; i < n * ff; ++i) hidden[i] = hidden[i] > 0 ? hidden[i] * hidden[i] : 0.0f;
  cpu::matmul(ctx.pool, value_, hidden, n, out, ctx.matmul);
}

}  // namespace ma

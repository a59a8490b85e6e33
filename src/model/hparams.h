// Hyperparameters of a loaded model, read by the architecture file from the
// GGUF keys. Shapes of every tensor follow from these.
#pragma once

#include <cstdint>
#include <string>

#include "ops/rope.h"

namespace ma {

// The normalisation before each block and the head: RMSNorm (a weight) or
// LayerNorm (mean-centred, a weight and a bias; RWKV).
enum class NormKind { kRms, kLayer };

struct Hparams {
  std::string arch;
  int64_t n_vocab = 0;
  int64_t n_embd = 0;  // residual stream width
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t head_dim = 0;  // per attention head
  int64_t n_ff = 0;
  int64_t n_ctx_train = 0;
  float norm_eps = 1e-5f;
  NormKind norm = NormKind::kRms;
  int64_t sliding_window = 0;  // 0: full attention
  RopeParams rope;
};

}  // namespace ma

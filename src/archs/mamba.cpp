// Mamba-1 and Falcon-Mamba (GGUF architecture "mamba", llama.cpp's names and
// keys): every layer is RMSNorm -> selective SSM mixer -> residual, no FFN. The
// converter has already turned A_log into A = -exp(A_log) (ssm_a) and
// squeezed the conv1d weight to {d_conv, d_inner}.
#include <memory>

#include "archs/mamba_layer.h"
#include "core/error.h"
#include "model/model.h"
#include "model/weight_loader.h"

namespace ma {

std::unique_ptr<Model> build_mamba(gguf::File file) {
  const WeightLoader pre(file);
  Hparams hp;
  hp.arch = "mamba";
  hp.n_embd = pre.u("embedding_length");
  hp.n_layer = pre.u("block_count");
  hp.n_ctx_train = pre.u("context_length", 1 << 20);
  hp.norm_eps = pre.f("attention.layer_norm_rms_epsilon", 1e-5f);
  MambaShape s = read_mamba_shape(pre, hp.n_embd, hp.norm_eps);
  s.dt_b_c_rms = file.get_bool("mamba.ssm.dt_b_c_rms", false);  // Falcon-Mamba
  if (hp.n_layer <= 0 || hp.n_embd <= 0) {
    throw Error(file.label() + ": invalid block_count or embedding_length");
  }
  hp.n_vocab = static_cast<int64_t>(file.tensor("token_embd.weight").rows());

  auto model = std::make_unique<Model>(std::move(file), hp);
  const WeightLoader w(model->file());
  const int64_t e = hp.n_embd;
  model->set_embedding(w.matrix("token_embd.weight", e, hp.n_vocab));
  for (int64_t i = 0; i < hp.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    MambaWeights mw = load_mamba_weights(w, p, s);
    Layer layer;
    layer.mixer_norm = w.vector(p + "attn_norm.weight", e);
    layer.mixer = std::make_unique<MambaMixer>(std::move(mw), s);
    model->add_layer(std::move(layer));
  }
  const char* head = w.has("output.weight") ? "output.weight" : "token_embd.weight";
  model->set_head(w.vector("output_norm.weight", e), w.matrix(head, e, hp.n_vocab));
  return model;
}

}  // namespace ma

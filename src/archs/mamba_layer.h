// Reading one Mamba-1 mixer from a GGUF, shared by the architectures that
// use it (mamba, jamba): the ssm.* keys and the blk.N.ssm_* tensors in
// llama.cpp's layout.
#pragma once

#include <string>

#include "mixers/mamba.h"
#include "model/weight_loader.h"

namespace ma {

// The mixer's shape from "<arch>.ssm.*" and the layer-norm epsilon.
MambaShape read_mamba_shape(const WeightLoader& w, int64_t n_embd, float norm_eps);

// The weights under `prefix` ("blk.N."); the dt/B/C norm weights are read
// when the file has them (Jamba).
MambaWeights load_mamba_weights(const WeightLoader& w, const std::string& prefix,
                                const MambaShape& s);

}  // namespace ma

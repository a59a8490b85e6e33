#include "convert/synth.h"

#include <cstdio>
#include <cstring>

#include "convert/converter.h"
#include "convert/file_type.h"
#include "convert/gguf_stream_writer.h"
#include "convert/llama_rope.h"
#include "convert/row_encoder.h"
#include "convert/synth_vocab.h"
#include "core/error.h"

namespace ma::convert {
namespace {

using gguf::Value;

// splitmix64: a seed per (tensor, row) so output does not depend on threading.
uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// xorshift64* stream; four 16-bit uniforms summed approximate a normal
// (Irwin-Hall, variance 4/12), one generator step per value.
struct Rng {
  uint64_t s;
  float normal() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const uint64_t r = s * 0x2545F4914F6CDD1Dull;
    const float sum =
        static_cast<float>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
    constexpr float kMean = 2.0f * 65535.0f;
    constexpr float kInvStd = 1.0f / (65536.0f * 0.57735027f);
    return (sum - kMean) * kInvStd;
  }
};

struct Planned {
  std::string name;
  std::vector<uint64_t> shape;
  GgmlType type;
  enum Kind { kMatrix, kNorm, kFixed } kind;
  std::vector<float> fixed;  // kFixed
};

const SynthPreset& find_preset(const std::string& name) {
  for (const auto& p : synth_presets()) {
    if (name == p.name) return p;
  }
  throw Error("unknown preset '" + name + "'; valid presets: " + synth_preset_names());
}

}  // namespace

const std::vector<SynthPreset>& synth_presets() {
  static const std::vector<SynthPreset> presets = {
      // Llama-3.2-1B
      {"1b", 16, 2048, 32, 8, 8192, 128256, 131072, 500000.0f, 1e-5f, true, 32.0f, false},
      // Llama-2-7B
      {"7b", 32, 4096, 32, 32, 11008, 32000, 4096, 10000.0f, 1e-5f, false, 0.0f, false},
      // Llama-3-8B
      {"8b", 32, 4096, 32, 8, 14336, 128256, 8192, 500000.0f, 1e-5f, false, 0.0f, false},
      // Test-sized: rows are multiples of 256 so every K-quant fits.
      {"tiny", 2, 256, 4, 2, 512, 512, 256, 10000.0f, 1e-5f, false, 0.0f, true},
  };
  return presets;
}

std::string synth_preset_names() {
  std::string out;
  for (const auto& p : synth_presets()) {
    if (!p.hidden) out += (out.empty() ? "" : ", ") + std::string(p.name);
  }
  return out;
}

size_t synth_model(const SynthOptions& opts) {
  if (opts.arch != "llama") {
    throw Error("synth: architecture '" + opts.arch + "' is not supported (supported: llama)");
  }
  const SynthPreset& p = find_preset(opts.preset);
  const FileType ft = parse_file_type(opts.type);
  if (!opts.dry_run && opts.out_path.empty()) throw Error("synth: no output file (-o)");
  const uint32_t n_layer = opts.layers >= 1 ? static_cast<uint32_t>(opts.layers) : p.n_layer;
  const uint32_t head_dim = p.n_embd / p.n_head;

  GgufStreamWriter w;
  w.set("general.architecture", Value::str("llama"));
  w.set("general.name", Value::str(std::string("synthetic-llama-") + p.name));
  w.set("general.file_type", Value::u32(ft.ftype));
  uint32_t n_vocab = p.n_vocab;
  if (!opts.vocab_from.empty()) {
    const gguf::File vf = gguf::File::open(opts.vocab_from);
    const gguf::Value* tokens = vf.find("tokenizer.ggml.tokens");
    if (tokens == nullptr) throw Error(opts.vocab_from + ": no tokenizer.ggml.tokens to copy");
    for (const auto& kv : vf.metadata()) {
      if (kv.key.starts_with("tokenizer.")) w.set(kv.key, kv.value);
    }
    n_vocab = static_cast<uint32_t>(tokens->as_array("tokenizer.ggml.tokens").items.size());
    if (n_vocab != p.n_vocab) {
      std::fprintf(stderr, "synth: vocabulary from %s has %u tokens (preset %s has %u); using %u\n",
                   opts.vocab_from.c_str(), n_vocab, p.name, p.n_vocab, n_vocab);
    }
  } else {
    add_synthetic_vocab(n_vocab, w);
  }
  w.set("llama.vocab_size", Value::u32(n_vocab));
  w.set("llama.context_length", Value::u32(p.n_ctx));
  w.set("llama.embedding_length", Value::u32(p.n_embd));
  w.set("llama.block_count", Value::u32(n_layer));
  w.set("llama.feed_forward_length", Value::u32(p.n_ff));
  w.set("llama.rope.dimension_count", Value::u32(head_dim));
  w.set("llama.attention.head_count", Value::u32(p.n_head));
  w.set("llama.attention.head_count_kv", Value::u32(p.n_head_kv));
  w.set("llama.rope.freq_base", Value::f32(p.rope_base));
  w.set("llama.attention.layer_norm_rms_epsilon", Value::f32(p.rms_eps));

  std::vector<Planned> plan;
  auto matrix = [&](std::string name, uint64_t in, uint64_t out) {
    plan.push_back({std::move(name), {in, out}, GgmlType::F32, Planned::kMatrix, {}});
  };
  auto norm = [&](std::string name) {
    plan.push_back({std::move(name), {p.n_embd}, GgmlType::F32, Planned::kNorm, {}});
  };
  const uint64_t kv_dim = uint64_t{head_dim} * p.n_head_kv;
  matrix("token_embd.weight", p.n_embd, n_vocab);
  if (p.llama3_factor > 0) {
    Llama3Rope r;
    r.factor = p.llama3_factor;
    plan.push_back({"rope_freqs.weight",
                    {head_dim / 2},
                    GgmlType::F32,
                    Planned::kFixed,
                    llama3_rope_factors(p.rope_base, head_dim, r)});
  }
  for (uint32_t l = 0; l < n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    norm(b + "attn_norm.weight");
    matrix(b + "attn_q.weight", p.n_embd, p.n_embd);
    matrix(b + "attn_k.weight", p.n_embd, kv_dim);
    matrix(b + "attn_v.weight", p.n_embd, kv_dim);
    matrix(b + "attn_output.weight", p.n_embd, p.n_embd);
    norm(b + "ffn_norm.weight");
    matrix(b + "ffn_gate.weight", p.n_embd, p.n_ff);
    matrix(b + "ffn_up.weight", p.n_embd, p.n_ff);
    matrix(b + "ffn_down.weight", p.n_ff, p.n_embd);
  }
  norm("output_norm.weight");
  if (!p.tied) matrix("output.weight", p.n_embd, n_vocab);

  uint64_t total_bytes = 0;
  bool quantized = false;
  for (auto& t : plan) {
    if (t.kind == Planned::kMatrix) {
      t.type = choose_tensor_type(ft, {t.name, t.shape, n_layer, p.n_head / p.n_head_kv, p.tied});
    }
    quantized = quantized || ggml_type_traits(t.type).block_size > 1;
    total_bytes += ggml_row_size(t.type, t.shape[0]) * (t.shape.size() > 1 ? t.shape[1] : 1);
    w.declare_tensor(t.name, t.type, t.shape);
  }
  if (quantized) w.set("general.quantization_version", Value::u32(2));

  if (opts.dry_run) {
    for (const auto& kv : w.metadata()) {
      if (kv.value.type != gguf::ValueType::ARRAY) {
        std::printf("%s = %s\n", kv.key.c_str(), kv.value.to_display().c_str());
      }
    }
    for (const auto& t : plan) {
      std::string dims;
      for (uint64_t d : t.shape) dims += (dims.empty() ? "" : " x ") + std::to_string(d);
      std::printf("tensor %s %s %s\n", t.name.c_str(), std::string(ggml_type_name(t.type)).c_str(),
                  dims.c_str());
    }
    std::printf("tensors %zu, tensor bytes %llu\n", plan.size(),
                static_cast<unsigned long long>(total_bytes));
    return plan.size();
  }

  w.begin(opts.out_path);
  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned& t = plan[i];
    if (opts.progress) {
      print_progress("synth", i + 1, plan.size(), t.name, std::string(ggml_type_name(t.type)),
                     t.shape);
    }
    const uint64_t cols = t.shape[0];
    const uint64_t rows = t.shape.size() > 1 ? t.shape[1] : 1;
    const uint64_t tensor_seed = mix64(opts.seed ^ mix64(i + 1));
    encode_tensor(
        t.type, rows, cols,
        [&t, cols, tensor_seed](uint64_t r, float* out) {
          if (t.kind == Planned::kFixed) {
            std::memcpy(out, t.fixed.data() + r * cols, cols * sizeof(float));
            return;
          }
          Rng rng{mix64(tensor_seed ^ mix64(r)) | 1};
          const float base = t.kind == Planned::kNorm ? 1.0f : 0.0f;
          for (uint64_t c = 0; c < cols; ++c) out[c] = base + 0.02f * rng.normal();
        },
        w);
  }
  w.finish();
  return plan.size();
}

}  // namespace ma::convert

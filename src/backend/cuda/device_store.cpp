#include "backend/cuda/device_store.h"

#include <cstddef>
#include <cstring>
#include <string>

#include "backend/cuda/cuda_check.h"
#include "core/error.h"
#include "quant/blocks.h"

namespace ma::cuda {
namespace {

// Splits blocks of {fp16 scale, quants} into a quant array and a scale array.
template <typename Block>
void split_blocks(const Weight& w, std::vector<uint8_t>& q, std::vector<uint16_t>& d) {
  const int64_t nb = w.in / Block::kElems;
  const size_t q_bytes = sizeof(Block::qs);
  q.resize(static_cast<size_t>(w.out * nb) * q_bytes);
  d.resize(static_cast<size_t>(w.out * nb));
  for (int64_t r = 0; r < w.out; ++r) {
    const auto* blocks = reinterpret_cast<const Block*>(w.row(r));
    for (int64_t b = 0; b < nb; ++b) {
      const size_t i = static_cast<size_t>(r * nb + b);
      std::memcpy(&d[i], &blocks[b].d, sizeof(uint16_t));
      std::memcpy(q.data() + i * q_bytes, blocks[b].qs, q_bytes);
    }
  }
}

// Q6_K super-blocks are 210 bytes, so rows and blocks start unaligned:
// the device keeps each block's 208 bytes of quants and scales (16-byte
// aligned) in one array and its fp16 scale in another.
void split_q6_k(const Weight& w, std::vector<uint8_t>& q, std::vector<uint16_t>& d) {
  const int64_t nsb = w.in / BlockQ6_K::kElems;
  constexpr size_t kBody = offsetof(BlockQ6_K, d);
  static_assert(kBody % 16 == 0);
  q.resize(static_cast<size_t>(w.out * nsb) * kBody);
  d.resize(static_cast<size_t>(w.out * nsb));
  for (int64_t r = 0; r < w.out; ++r) {
    const auto* blocks = reinterpret_cast<const BlockQ6_K*>(w.row(r));
    for (int64_t b = 0; b < nsb; ++b) {
      const size_t i = static_cast<size_t>(r * nsb + b);
      std::memcpy(&d[i], &blocks[b].d, sizeof(uint16_t));
      std::memcpy(q.data() + i * kBody, &blocks[b], kBody);
    }
  }
}

// Q4_K super-blocks become Q4_0-shaped rows (cuda_math.cuh: q4_k_scale): each
// 32-element sub-block's 16 nibble bytes in Q4_0's order (element j in the
// low nibble of byte j, element j + 16 in the high) in one array, and per
// super-block a 16-byte header {d, dmin; the 8 scales' low nibbles; the 8
// mins' low nibbles; their top two bits} in another. Lossless, and the same
// bytes: the Q4_0 kernels' loads and tiles serve both types.
void flatten_q4_k(const Weight& w, std::vector<uint8_t>& q, std::vector<uint16_t>& d) {
  const int64_t nsb = w.in / BlockQ4_K::kElems;
  q.resize(static_cast<size_t>(w.out * w.in / 2));
  d.resize(static_cast<size_t>(w.out * nsb * 8));
  for (int64_t r = 0; r < w.out; ++r) {
    const auto* blocks = reinterpret_cast<const BlockQ4_K*>(w.row(r));
    for (int64_t b = 0; b < nsb; ++b) {
      const BlockQ4_K& k = blocks[b];
      const size_t sb = static_cast<size_t>(r * nsb + b);
      uint32_t sc_lo = 0, m_lo = 0, high = 0;
      for (int j = 0; j < 8; ++j) {
        const ScaleMin sm = unpack_scale_min_k4(k.scales, j);
        sc_lo |= static_cast<uint32_t>(sm.scale & 0xF) << (4 * j);
        m_lo |= static_cast<uint32_t>(sm.min & 0xF) << (4 * j);
        high |= static_cast<uint32_t>(sm.scale >> 4) << (2 * j);
        high |= static_cast<uint32_t>(sm.min >> 4) << (16 + 2 * j);
        // Sub-block j: nibble (j % 2) of bytes [32 (j / 2), +32).
        uint8_t* out = q.data() + (sb * 8 + static_cast<size_t>(j)) * 16;
        const uint8_t* src = k.qs + 32 * (j / 2);
        const int shift = 4 * (j % 2);
        for (int e = 0; e < 16; ++e) {
          out[e] =
              static_cast<uint8_t>(((src[e] >> shift) & 0xF) | ((src[e + 16] >> shift) & 0xF) << 4);
        }
      }
      uint16_t* h = d.data() + sb * 8;
      h[0] = k.d;
      h[1] = k.dmin;
      const uint32_t words[3] = {sc_lo, m_lo, high};
      std::memcpy(h + 2, words, sizeof(words));
    }
  }
}

bool same_rope(const RopeParams& a, const RopeParams& b) {
  return a.mode == b.mode && a.n_dims == b.n_dims && a.freq_base == b.freq_base &&
         a.freq_scale == b.freq_scale && a.ext_factor == b.ext_factor &&
         a.attn_factor == b.attn_factor && a.beta_fast == b.beta_fast &&
         a.beta_slow == b.beta_slow && a.n_ctx_orig == b.n_ctx_orig &&
         a.freq_factors == b.freq_factors;
}

}  // namespace

const DeviceWeight& DeviceStore::weight(const Weight& w) {
  // Type and shape are compared too, so a reused address is never mistaken.
  if (auto it = weights_.find(w.data); it != weights_.end()) {
    const DeviceWeight& d = it->second;
    if (d.type == w.type && d.in == w.in && d.out == w.out) return d;
    weights_.erase(it);
  }
  if (w.layout != WeightLayout::kRows) {
    throw Error(
        "CUDA backend: a weight was repacked for the CPU; load the model without the CPU "
        "repack for --device cuda");
  }
  if (!device_weight_supported(w.type)) {
    throw Error("CUDA backend: " + std::string(ggml_type_name(w.type)) +
                " weights are not supported yet (supported: " + device_weight_type_names() + ")");
  }
  DeviceWeight dw;
  dw.type = w.type;
  dw.in = w.in;
  dw.out = w.out;
  if (w.type == GgmlType::Q4_0 || w.type == GgmlType::Q8_0 || w.type == GgmlType::Q4_K ||
      w.type == GgmlType::Q6_K) {
    std::vector<uint8_t> q;
    std::vector<uint16_t> d;
    if (w.type == GgmlType::Q4_0) {
      split_blocks<BlockQ4_0>(w, q, d);
    } else if (w.type == GgmlType::Q8_0) {
      split_blocks<BlockQ8_0>(w, q, d);
    } else if (w.type == GgmlType::Q4_K) {
      flatten_q4_k(w, q, d);
    } else {
      split_q6_k(w, q, d);
    }
    dw.q = upload(q.data(), q.size());
    dw.d = static_cast<const uint16_t*>(upload(d.data(), d.size() * sizeof(uint16_t)));
  } else {
    dw.q = upload(w.data, w.row_bytes * static_cast<size_t>(w.out));
  }
  return weights_.emplace(w.data, dw).first->second;
}

const float* DeviceStore::vector(const std::vector<float>& v) {
  if (auto it = vectors_.find(v.data()); it != vectors_.end()) return it->second;
  const auto* p = static_cast<const float*>(upload(v.data(), v.size() * sizeof(float)));
  vectors_.emplace(v.data(), p);
  return p;
}

const RopeTable& DeviceStore::rope(const RopeParams& p) {
  if (auto it = ropes_.find(&p); it != ropes_.end() && same_rope(it->second.params, p)) {
    return it->second;
  }
  std::vector<double> rates(static_cast<size_t>(p.n_dims / 2));
  double mscale = 1.0;
  for (size_t i = 0; i < rates.size(); ++i)
    rates[i] = rope_rate(p, static_cast<int64_t>(i), &mscale);
  RopeTable t;
  t.params = p;
  t.rates = static_cast<const double*>(upload(rates.data(), rates.size() * sizeof(double)));
  t.mscale = static_cast<float>(mscale);
  return ropes_.insert_or_assign(&p, t).first->second;
}

const void* DeviceStore::upload(const void* host, size_t bytes) {
  owned_.emplace_back(bytes, "weights");
  MA_CUDA_CHECK(cudaMemcpy(owned_.back().get(), host, bytes, cudaMemcpyHostToDevice));
  return owned_.back().get();
}

}  // namespace ma::cuda

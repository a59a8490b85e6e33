// Shared by the transformers parity tests: reading a fixture's reference ids
// and logits (written by the scripts in tools/fixtures/), and converting the
// fixture's HF folder with our own converter into a temporary GGUF.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "convert/converter.h"
#include "runtime/session.h"

namespace ma::test {

struct HfReference {
  std::vector<int32_t> ids;
  std::vector<float> logits;  // [ids x vocab], transformers in fp64, stored as float32
};

inline HfReference read_hf_reference(const std::filesystem::path& dir) {
  HfReference r;
  std::ifstream ids(dir / "reference_ids.txt");
  int32_t id;
  while (ids >> id) r.ids.push_back(id);
  std::ifstream bin(dir / "reference_logits.f32", std::ios::binary);
  const std::string bytes{std::istreambuf_iterator<char>(bin), std::istreambuf_iterator<char>()};
  r.logits.resize(bytes.size() / 4);
  std::memcpy(r.logits.data(), bytes.data(), r.logits.size() * 4);
  return r;
}

// Converts an HF folder to an F32 GGUF in the temp directory; the caller removes it.
inline std::string convert_hf_fixture(const std::filesystem::path& dir, const std::string& tag) {
  const auto gguf = std::filesystem::temp_directory_path() /
                    ("ma_fixture_" + std::to_string(::getpid()) + "_" + tag + ".gguf");
  convert::ConvertOptions co;
  co.hf_dir = dir.string();
  co.out_path = gguf.string();
  co.type = "f32";
  co.progress = false;
  convert::convert_hf_to_gguf(co);
  return gguf.string();
}

// Feeds `ids` one token at a time; row t of `out` ([ids x vocab]) gets the
// logits after token t.
inline void decode_each(Session& session, const std::vector<int32_t>& ids, size_t vocab,
                        float* out) {
  for (size_t t = 0; t < ids.size(); ++t) {
    const float* l = session.decode(ids[t]);
    std::copy(l, l + vocab, out + t * vocab);
  }
}

// The logits of every position of ref.ids, [ids x vocab]: "prefill" runs
// them in batched passes (prefill_all), "decode" one token at a time.
inline std::vector<float> logits_in_mode(Session& session, const HfReference& ref, size_t vocab,
                                         const std::string& mode) {
  std::vector<float> got(ref.ids.size() * vocab);
  if (mode == "prefill") {
    session.prefill_all(ref.ids, got.data());
  } else {
    decode_each(session, ref.ids, vocab, got.data());
  }
  return got;
}

// Compares [positions x vocab] logits with the reference's: flags every
// position whose top-1 token differs, and returns the largest |difference|.
inline double compare_logits(const std::vector<float>& got, const HfReference& ref, size_t vocab) {
  double worst = 0;
  for (size_t t = 0; t < ref.ids.size(); ++t) {
    const float* a = got.data() + t * vocab;
    const float* b = ref.logits.data() + t * vocab;
    for (size_t v = 0; v < vocab; ++v) worst = std::max(worst, std::abs(double(a[v]) - b[v]));
    EXPECT_EQ(std::max_element(a, a + vocab) - a, std::max_element(b, b + vocab) - b)
        << "top-1 differs at position " << t;
  }
  return worst;
}

}  // namespace ma::test

#include <gtest/gtest.h>

#include "core/fp16.h"
#include "gguf/gguf_file.h"
#include "quant/quantize.h"
#include "test_support.h"

// Real files: the F16 and F32 GGUFs of tiny-rwkv-7v0-834K hold the same
// weights; every F16 tensor decodes to the F32 file's values rounded to half.

namespace ma {
namespace {

TEST(QuantRealFiles, F16TensorsDecodeToTheF32FilesValues) {
  MA_REQUIRE_SHARED(f16_path, "models/tiny-rwkv-7v0-834K-F16.gguf");
  MA_REQUIRE_SHARED(f32_path, "models/tiny-rwkv-7v0-834K-F32.gguf");
  const auto f16 = gguf::File::open(f16_path.string());
  const auto f32 = gguf::File::open(f32_path.string());
  size_t checked = 0;
  for (const auto& t : f16.tensors()) {
    if (t.type != GgmlType::F16) continue;
    const auto& ref = f32.tensor(t.name);
    ASSERT_EQ(ref.type, GgmlType::F32) << t.name;
    ASSERT_EQ(ref.n_elements, t.n_elements) << t.name;
    std::vector<float> got(t.n_elements), want(t.n_elements);
    dequantize_row(t.type, t.data.data(), got.data(), static_cast<int64_t>(t.n_elements));
    dequantize_row(ref.type, ref.data.data(), want.data(), static_cast<int64_t>(t.n_elements));
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], fp16_to_fp32(fp32_to_fp16(want[i]))) << t.name << "[" << i << "]";
    }
    ++checked;
  }
  EXPECT_GT(checked, 10u);
}

}  // namespace
}  // namespace ma

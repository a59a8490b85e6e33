// 100 generations in one process must not grow resident memory (beyond 1%):
// sessions reuse their buffers and nothing leaks per request.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "model/arch_registry.h"
#include "runtime/generate.h"
#include "test_support.h"

namespace ma {
namespace {

long resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

TEST(GenerationMemory, HundredGenerationsDoNotGrowResidentMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's quarantine holds freed memory; measured in release builds";
#endif
  MA_REQUIRE_SHARED(path, "models/stories260K.gguf");
  const auto model = load_model(path.string());
  SessionOptions so;
  so.n_ctx = 128;
  Session session(*model, so);
  const auto prompt = model->tokenizer().encode("Once upon a time", true);
  GenerateOptions g;
  g.n_predict = 40;
  g.sampling.seed = 42;
  std::string sink;
  auto one = [&](int i) {
    session.reset();
    g.sampling.seed = static_cast<uint64_t>(i);
    generate(session, prompt, g, [&](std::string_view t) { sink.assign(t); });
  };
  for (int i = 0; i < 5; ++i) one(i);  // reach the high-water mark
  const long before = resident_bytes();
  for (int i = 0; i < 100; ++i) one(i);
  const long after = resident_bytes();
  EXPECT_LT(static_cast<double>(after - before), 0.01 * static_cast<double>(before))
      << "resident memory grew from " << before << " to " << after << " bytes";
}

}  // namespace
}  // namespace ma

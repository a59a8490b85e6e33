#include <gtest/gtest.h>

#include "core/error.h"
#include "model/layer_schedule.h"

namespace ma {
namespace {

TEST(LayerSchedule, PeriodicGivesJambaPattern) {
  const auto s = LayerSchedule::periodic(32, 7);
  ASSERT_EQ(s.size(), 32);
  EXPECT_EQ(s.count(MixerKind::kAttention), 4);
  for (int64_t i = 0; i < 32; ++i) {
    EXPECT_EQ(s[i], i % 8 == 7 ? MixerKind::kAttention : MixerKind::kMamba) << i;
  }
  EXPECT_EQ(LayerSchedule::periodic(8, 7).to_string(), "M M M M M M M A");
}

TEST(LayerSchedule, OtherConstructors) {
  EXPECT_EQ(LayerSchedule::pure_transformer(3).to_string(), "A A A");
  EXPECT_EQ(LayerSchedule::pure_linear(2, MixerKind::kRwkv7).to_string(), "R R");
  EXPECT_EQ(LayerSchedule::from_pattern("GGA GGA").to_string(), "G G A G G A");
  EXPECT_EQ(LayerSchedule::periodic(3, 0).to_string(), "A A A");
  EXPECT_THROW(LayerSchedule::from_pattern("MX"), Error);
}

}  // namespace
}  // namespace ma

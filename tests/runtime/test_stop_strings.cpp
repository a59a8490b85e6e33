// StopStrings: matches split over pieces, held-back prefixes, several stop
// strings, and UTF-8 that is never cut mid-character.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/stop_strings.h"

namespace ma {
namespace {

// Feeds each piece; returns everything emitted plus the flush, and whether it stopped.
std::pair<std::string, bool> run(StopStrings& s, const std::vector<std::string>& pieces) {
  std::string out;
  bool stopped = false;
  for (const auto& p : pieces) {
    const StopResult r = s.feed(p);
    out += r.text;
    stopped = stopped || r.stopped;
  }
  out += s.flush();
  return {out, stopped};
}

TEST(StopStrings, MatchSplitAcrossPieces) {
  StopStrings s({"\nUser:"});
  StopResult r = s.feed("Hel");
  EXPECT_EQ(r.text, "Hel");  // no suffix of "Hel" starts "\nUser:"
  EXPECT_FALSE(r.stopped);
  r = s.feed("lo\nUser:");
  EXPECT_EQ(r.text, "lo");
  EXPECT_TRUE(r.stopped);
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), 0);
  EXPECT_EQ(s.feed("more").text, "");  // ignored after the stop
  EXPECT_TRUE(s.feed("more").stopped);
  EXPECT_EQ(s.flush(), "");
}

TEST(StopStrings, HoldsPossiblePrefixUntilSettled) {
  StopStrings s({"\nUser:"});
  StopResult r = s.feed("Hello\nUs");
  EXPECT_EQ(r.text, "Hello");
  EXPECT_EQ(s.held_bytes(), 3u);
  r = s.feed("ually");  // "\nUsually" is not the stop string: release it
  EXPECT_EQ(r.text, "\nUsually");
  EXPECT_FALSE(r.stopped);
  r = s.feed("\n");
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(s.flush(), "\n");  // end of generation: the held text is real output
}

TEST(StopStrings, StopSplitOverManyOneBytePieces) {
  StopStrings s({"</s>"});
  std::vector<std::string> pieces;
  for (char c : std::string("abc</s>def")) pieces.emplace_back(1, c);
  const auto [out, stopped] = run(s, pieces);
  EXPECT_EQ(out, "abc");
  EXPECT_TRUE(stopped);
}

TEST(StopStrings, OverlappingPrefixes) {
  // "aab": after "aa" a third 'a' must release only the first one.
  StopStrings s({"aab"});
  EXPECT_EQ(s.feed("a").text, "");
  EXPECT_EQ(s.feed("a").text, "");
  EXPECT_EQ(s.feed("a").text, "a");
  const StopResult r = s.feed("b");
  EXPECT_EQ(r.text, "");
  EXPECT_TRUE(r.stopped);

  // Self-overlapping stop "abab" inside "ababab" matches at the first place.
  StopStrings t({"abab"});
  const auto [out, stopped] = run(t, {"xab", "a", "bab"});
  EXPECT_EQ(out, "x");
  EXPECT_TRUE(stopped);

  // A prefix that fails over and over is emitted piece by piece, never lost.
  StopStrings u({"abc"});
  const auto [out2, stopped2] = run(u, {"ab", "ab", "ab", "x"});
  EXPECT_EQ(out2, "abababx");
  EXPECT_FALSE(stopped2);
}

TEST(StopStrings, MultipleStopStringsEarliestWins) {
  StopStrings s({"STOP", "END", "\n\n"});
  const auto [out, stopped] = run(s, {"one EN", "two STO", "P three END"});
  EXPECT_EQ(out, "one ENtwo ");
  EXPECT_TRUE(stopped);
  EXPECT_EQ(s.matched(), 0);

  // Both complete in the same piece: the one that starts first is the cut.
  StopStrings t({"STOP", "END"});
  const StopResult r = t.feed("a END b STOP");
  EXPECT_EQ(r.text, "a ");
  EXPECT_EQ(t.matched(), 1);

  // One stop is a prefix of another: the shorter one completes first.
  StopStrings u({"<|im_end|>", "<|im"});
  EXPECT_EQ(u.feed("hi <|i").text, "hi ");
  const StopResult r2 = u.feed("m");
  EXPECT_EQ(r2.text, "");
  EXPECT_TRUE(r2.stopped);
  EXPECT_EQ(u.matched(), 1);
}

TEST(StopStrings, NoStopMeansPassThrough) {
  StopStrings s({});
  const auto [out, stopped] = run(s, {"Hello", ", ", "world"});
  EXPECT_EQ(out, "Hello, world");
  EXPECT_FALSE(stopped);
}

TEST(StopStrings, Utf8KeptIntact) {
  // Stop string with multi-byte characters, split inside a character.
  const std::string stop = "\xE3\x80\x82\xE7\xB5\x82";  // "。終"
  StopStrings s({stop});
  const std::string text = "caf\xC3\xA9 \xE2\x9C\x93";  // "café ✓"
  StopResult r = s.feed(text + "\xE3\x80");             // "。" cut after 2 bytes
  EXPECT_EQ(r.text, text);
  r = s.feed("\x82\xE7");
  EXPECT_EQ(r.text, "");
  r = s.feed("\xB5\x82 tail");
  EXPECT_EQ(r.text, "");
  EXPECT_TRUE(r.stopped);

  // Incomplete characters fed raw are held until whole, even with no stop match.
  StopStrings t({"\n\n"});
  EXPECT_EQ(t.feed("a\xF0\x9F").text, "a");
  EXPECT_EQ(t.feed("\x98").text, "");
  EXPECT_EQ(t.feed("\x80!").text, "\xF0\x9F\x98\x80!");  // U+1F600 whole

  // Near miss on a multi-byte stop: the emitted bytes are the input, unchanged.
  StopStrings u({"\xC3\xA9t\xC3\xA9"});  // "été"
  const auto [out, stopped] = run(u, {"l\xC3\xA9", "t\xC3", "\xA8 \xC3\xA9t\xC3\xA9!"});
  EXPECT_EQ(out, "l\xC3\xA9t\xC3\xA8 ");
  EXPECT_TRUE(stopped);
}

TEST(StopStrings, ResetAndValidation) {
  StopStrings s({"##"});
  EXPECT_TRUE(s.feed("a##").stopped);
  s.reset();
  EXPECT_FALSE(s.stopped());
  EXPECT_EQ(s.matched(), -1);
  const auto [out, stopped] = run(s, {"b#", "c"});
  EXPECT_EQ(out, "b#c");
  EXPECT_FALSE(stopped);
  EXPECT_THROW(StopStrings({"ok", ""}), Error);
}

}  // namespace
}  // namespace ma

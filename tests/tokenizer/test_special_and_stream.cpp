// Special-token matching versus plain text, and the streaming detokenizer on
// characters cut across byte tokens.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "test_support.h"
#include "tokenizer/stream_detokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace ma {
namespace {

std::unique_ptr<Tokenizer> load(const std::filesystem::path& p) {
  return Tokenizer::from_gguf(gguf::File::open(p.string()));
}

TEST(TokenizerSpecial, ControlTokenTextVsPlain) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-llama-bpe.gguf");
  const auto tok = load(path);
  const int32_t eot = tok->vocab().find("<|eot_id|>");
  ASSERT_NE(eot, kNoToken);
  EXPECT_TRUE(tok->is_eog(eot));
  EXPECT_TRUE(tok->is_eog(tok->eos()));

  const std::string text = "Hi<|eot_id|>there";
  const auto parsed = tok->encode(text, false, true);
  ASSERT_EQ(std::count(parsed.begin(), parsed.end(), eot), 1);
  const auto plain = tok->encode(text, false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), eot), 0);
  EXPECT_GT(plain.size(), parsed.size());
  EXPECT_EQ(tok->decode(parsed), text);
  EXPECT_EQ(tok->decode(plain), text);
  EXPECT_EQ(tok->decode(parsed, /*render_special=*/false), "Hithere");

  // add_special puts BOS in front (llama3 vocabularies ask for it).
  const auto with_bos = tok->encode(text, true, true);
  ASSERT_FALSE(with_bos.empty());
  EXPECT_EQ(with_bos.front(), tok->bos());
  EXPECT_EQ(with_bos.size(), parsed.size() + 1);
}

TEST(TokenizerSpecial, SpmSpacePrefixAfterSpecialToken) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-llama-spm.gguf");
  const auto tok = load(path);
  const auto ids = tok->encode("Hello</s>world", true, true);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), tok->bos());
  EXPECT_NE(std::find(ids.begin(), ids.end(), tok->eos()), ids.end());
  EXPECT_EQ(tok->decode(ids), "<s>Hello</s>world");
  const auto plain = tok->encode("Hello</s>world", false, false);
  EXPECT_EQ(std::find(plain.begin(), plain.end(), tok->eos()), plain.end());
  EXPECT_EQ(tok->decode(plain), "Hello</s>world");
}

TEST(TokenizerSpecial, IdOutOfRangeThrows) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-gpt-2.gguf");
  const auto tok = load(path);
  const std::vector<int32_t> bad = {static_cast<int32_t>(tok->n_vocab())};
  EXPECT_THROW(tok->decode(bad), Error);
  EXPECT_THROW(tok->token_to_piece(-1), Error);
}

// Feeds ids one by one and checks that every chunk is valid UTF-8 and that
// the chunks add up to the decoded text.
void check_stream(const Tokenizer& tok, const std::vector<int32_t>& ids, const std::string& want) {
  StreamDetokenizer stream(tok);
  std::string all;
  for (int32_t id : ids) {
    const std::string chunk = stream.push(id);
    EXPECT_EQ(tok::sanitize_utf8(chunk), chunk) << "broken UTF-8 emitted";
    all += chunk;
  }
  all += stream.flush();
  EXPECT_EQ(all, want);
}

TEST(TokenizerStream, SpmByteFallbackAcrossTokens) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-llama-spm.gguf");
  const auto tok = load(path);
  // Emoji and rare CJK are not in the 32k vocabulary: they come out as <0xNN> tokens.
  const std::string text = "a 🦙 and 𝔘 𠀋 ok";
  const auto ids = tok->encode(text, false, false);
  int byte_tokens = 0;
  for (int32_t id : ids) byte_tokens += (tok->vocab().attrs[id] & kAttrByte) != 0;
  EXPECT_GE(byte_tokens, 8);
  check_stream(*tok, ids, text);

  // Held back until the character is complete.
  const int32_t f0 = tok->vocab().byte_token(0xF0), x9f = tok->vocab().byte_token(0x9F);
  const int32_t xa6 = tok->vocab().byte_token(0xA6), x99 = tok->vocab().byte_token(0x99);
  StreamDetokenizer s(*tok);
  EXPECT_EQ(s.push(f0), "");
  EXPECT_EQ(s.push(x9f), "");
  EXPECT_EQ(s.push(xa6), "");
  EXPECT_EQ(s.pending_bytes(), 3u);
  EXPECT_EQ(s.push(x99), "🦙");
  // A lead byte followed by something that cannot continue it becomes U+FFFD.
  EXPECT_EQ(s.push(f0), "");
  EXPECT_EQ(s.push(tok->vocab().byte_token('A')),
            "\xEF\xBF\xBD"
            "A");
  // A dangling lead byte at the end is flushed as U+FFFD.
  EXPECT_EQ(s.push(x9f), "\xEF\xBF\xBD");
  EXPECT_EQ(s.push(f0), "");
  EXPECT_EQ(s.flush(), "\xEF\xBF\xBD");
}

TEST(TokenizerStream, ByteLevelBpeSplitCharacters) {
  MA_REQUIRE_SHARED(path, "vocab/ggml-vocab-gpt-2.gguf");
  const auto tok = load(path);
  const std::string text = "日本語のテキスト 🦙🦙 ok ✅";
  const auto ids = tok->encode(text, false, false);
  check_stream(*tok, ids, text);
  // Some token of this text ends inside a character.
  bool split = false;
  for (int32_t id : ids) {
    const std::string& p = tok->token_to_piece(id);
    split = split || tok::sanitize_utf8(p) != p;
  }
  EXPECT_TRUE(split);
}

}  // namespace
}  // namespace ma

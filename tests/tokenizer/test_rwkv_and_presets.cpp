// RWKV world tokenization on a vocabulary written the way llama.cpp's
// converter writes it, and the pre-tokenizer table.
#include <gtest/gtest.h>

#include "core/error.h"
#include "gguf/gguf_file.h"
#include "gguf/gguf_writer.h"
#include "test_support.h"
#include "tokenizer/bpe_pretokenizer.h"
#include "tokenizer/encoders.h"
#include "tokenizer/stream_detokenizer.h"
#include "tokenizer/tokenizer.h"

namespace ma {
namespace {

// Tokens are Python bytes reprs without b'...': "\\xe4\\xbd\\xa0" is 3 raw bytes.
const std::vector<std::string> kRwkvTokens = {
    "<s>",    "a",    "b",   "ab",      "abc",   "\\n",   "\\n\\n",          " ",
    "\\t",    "\\\\", "\\'", "\\xe4",   "\\xbd", "\\xa0", "\\xe4\\xbd\\xa0", "hello",
    " world", "c",    "x",   "[PAD19]",
};

struct RwkvFixture {
  std::vector<uint8_t> bytes;
  gguf::File file;
  std::unique_ptr<Tokenizer> tok;
};

RwkvFixture make_rwkv(std::vector<std::string> tokens = kRwkvTokens) {
  gguf::Writer w;
  w.set("general.architecture", gguf::Value::str("rwkv7"));
  w.set("tokenizer.ggml.model", gguf::Value::str("rwkv"));
  std::vector<gguf::Value> types(tokens.size(), gguf::Value::i32(1));
  types[0] = gguf::Value::i32(3);      // <s> is a control token
  types.back() = gguf::Value::i32(5);  // padding: unused
  w.set("tokenizer.ggml.tokens", gguf::Value::string_array(tokens));
  w.set("tokenizer.ggml.token_type", gguf::Value::array(gguf::ValueType::INT32, types));
  auto bytes = w.to_bytes();
  auto file = gguf::File::parse(bytes, "rwkv-test");
  auto tok = Tokenizer::from_gguf(file);
  return {std::move(bytes), std::move(file), std::move(tok)};
}

TEST(TokenizerRwkv, UnescapesPythonBytesLiterals) {
  EXPECT_EQ(tok::rwkv_unescape("\\xe4\\xbd\\xa0"), "\xe4\xbd\xa0");
  EXPECT_EQ(tok::rwkv_unescape("\\n\\t\\r"), "\n\t\r");
  EXPECT_EQ(tok::rwkv_unescape("\\\\"), "\\");
  EXPECT_EQ(tok::rwkv_unescape("\\'s"), "'s");
  EXPECT_EQ(tok::rwkv_unescape("plain"), "plain");
}

TEST(TokenizerRwkv, GreedyLongestMatch) {
  const auto f = make_rwkv();
  const Tokenizer& t = *f.tok;
  using V = std::vector<int32_t>;
  EXPECT_EQ(t.encode("abc", false), (V{4}));
  EXPECT_EQ(t.encode("abab", false), (V{3, 3}));
  EXPECT_EQ(t.encode("abcab", false), (V{4, 3}));
  EXPECT_EQ(t.encode("ba", false), (V{2, 1}));
  EXPECT_EQ(t.encode("\n\n\n", false), (V{6, 5}));
  EXPECT_EQ(t.encode("hello world", false), (V{15, 16}));
  EXPECT_EQ(t.encode("\xe4\xbd\xa0\xe4\xbd", false), (V{14, 11, 12}));
  EXPECT_EQ(t.encode("\\'\t", false), (V{9, 10, 8}));
  // <s> is a control token: matched whole unless the text is plain.
  EXPECT_EQ(t.encode("a<s>b", false, true), (V{1, 0, 2}));
  EXPECT_THROW(t.encode("a<s>b", false, false), Error);  // '<' is not in this vocabulary
  EXPECT_THROW(t.encode("z", false), Error);
  // RWKV adds no BOS by default.
  EXPECT_EQ(t.encode("ab", true), (V{3}));
}

TEST(TokenizerRwkv, DecodeAndStreamBytes) {
  const auto f = make_rwkv();
  const Tokenizer& t = *f.tok;
  const std::string text = "ab\\ hello world\n\n\xe4\xbd\xa0\t'";
  const auto ids = t.encode(text, false);
  EXPECT_EQ(t.decode(ids), text);
  // The three byte tokens of one character stream out only when complete.
  StreamDetokenizer s(t);
  EXPECT_EQ(s.push(11), "");
  EXPECT_EQ(s.push(12), "");
  EXPECT_EQ(s.push(13), "\xe4\xbd\xa0");
  EXPECT_EQ(s.flush(), "");
}

TEST(TokenizerRwkv, SharedTinyModelVocabulary) {
  MA_REQUIRE_SHARED(path, "models/tiny-rwkv-7v0-834K-F32.gguf");
  const auto file = gguf::File::open(path.string());
  const auto tok = Tokenizer::from_gguf(file);
  EXPECT_EQ(tok->vocab().type, VocabType::Rwkv);
  EXPECT_EQ(tok->n_vocab(), 256u);
  // Whatever this vocabulary holds, text made of its own tokens round-trips.
  std::string text;
  for (int32_t id = 1; id < static_cast<int32_t>(tok->n_vocab()); id += 7) {
    if (tok->vocab().attrs[id] & kAttrNormal) text += tok->token_to_piece(id);
  }
  const auto ids = tok->encode(text, false, false);
  EXPECT_FALSE(ids.empty());
  EXPECT_EQ(tok->decode(ids), text);
}

TEST(TokenizerPresets, UnknownPreTokenizerIsRefusedByName) {
  try {
    bpe_preset("no-such-pre");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'no-such-pre'"), std::string::npos) << e.what();
  }
}

TEST(TokenizerPresets, EveryRegexCompiles) {
  for (const std::string& name : bpe_preset_names()) {
    EXPECT_NO_THROW(PreTokenizer p(bpe_preset(name).regexes)) << name;
  }
}

std::vector<std::string> split(const char* pre, std::string_view text) {
  return PreTokenizer(bpe_preset(pre).regexes).split(text);
}

TEST(TokenizerPresets, SplitsLikeTheFamilies) {
  using S = std::vector<std::string>;
  EXPECT_EQ(split("gpt-2", "Hello world's 12345  x"),
            (S{"Hello", " world", "'s", " 12345", " ", " x"}));
  EXPECT_EQ(split("llama-bpe", "I'M 12345\n\n  x"),
            (S{"I", "'M", " ", "123", "45", "\n\n", " ", " x"}));
  EXPECT_EQ(split("qwen2", "ab 123"), (S{"ab", " ", "1", "2", "3"}));
  EXPECT_EQ(split("starcoder", "x=12;"), (S{"x", "=", "1", "2", ";"}));
  // Invalid UTF-8 is read as U+FFFD, as llama.cpp does.
  EXPECT_EQ(split("gpt-2", "a\xff"), (S{"a", "\xEF\xBF\xBD"}));
  // '$' in deepseek-llm's "\s+$" means the end of the piece only.
  EXPECT_NO_THROW(split("deepseek-llm", "hi  \n"));
}

}  // namespace
}  // namespace ma

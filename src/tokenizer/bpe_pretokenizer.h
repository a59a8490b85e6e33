// Pre-tokenization for byte-level BPE: text is cut into words by a chain of
// regexes chosen by tokenizer.ggml.pre, then each word is merged on its own.
//
// Each regex of the chain re-splits every piece the previous one produced;
// both the matches and the text between them become pieces (llama.cpp's
// semantics). Regexes run on PCRE2 with Unicode properties (UTF + UCP).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ma {

struct BpePreset {
  std::vector<std::string> regexes;
  bool ignore_merges = false;  // a word that is already a token is not merged
  bool add_bos = false;        // default for add_bos_token when the file is silent
  bool no_bos = false;         // the family has no BOS token at all
};

// The preset for a tokenizer.ggml.pre value; throws ma::Error naming an unknown one.
const BpePreset& bpe_preset(std::string_view pre);
// Every pre value accepted (for docs and error messages).
std::vector<std::string> bpe_preset_names();

class PreTokenizer {
 public:
  explicit PreTokenizer(const std::vector<std::string>& regexes);
  ~PreTokenizer();
  PreTokenizer(const PreTokenizer&) = delete;
  PreTokenizer& operator=(const PreTokenizer&) = delete;

  // Splits `text` (made valid UTF-8 first) into words; their concatenation is the text.
  std::vector<std::string> split(std::string_view text) const;

 private:
  struct Compiled;
  std::vector<std::unique_ptr<Compiled>> regexes_;
};

}  // namespace ma

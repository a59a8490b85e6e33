// A made-up byte-level BPE vocabulary of any size (>= 259) for synthetic
// models: the 256 byte tokens, two- and three-byte merges in order, then
// <|begin_of_text|> / <|end_of_text|> as control tokens at the end.
#pragma once

#include <cstdint>

#include "convert/gguf_stream_writer.h"

namespace ma::convert {

void add_synthetic_vocab(uint32_t n_vocab, GgufStreamWriter& w);

}  // namespace ma::convert

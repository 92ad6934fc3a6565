#pragma once
// E-mail addresses: trimmed, domain lower-cased (the local part is kept as typed: it may be
// case-sensitive), and validated against a conservative subset of RFC 5321/5322 that real mail
// systems accept: ASCII dot-atom local part (<= 64), a DNS domain with at least one dot (<= 253).

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace latchkey::identity {

Result<std::string> normalize_email(std::string_view input);

// The part before '@' of a normalised address.
std::string_view local_part(std::string_view email);

}  // namespace latchkey::identity

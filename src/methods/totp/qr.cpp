#include "methods/totp/qr.hpp"

#include <qrencode.h>

#include <cerrno>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>

#include "common/encoding.hpp"

namespace latchkey::methods::totp {
namespace {

struct QrFree {
  void operator()(QRcode* code) const { QRcode_free(code); }
};

bool has_control(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string qr_svg(std::string_view text, std::string_view aria_label, int scale) {
  if (text.empty()) throw std::invalid_argument("QR text is empty");
  if (text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("QR text contains a NUL byte");
  }
  if (!is_valid_utf8(aria_label) || has_control(aria_label)) {
    throw std::invalid_argument("QR aria-label must be UTF-8 without control characters");
  }
  if (scale < 1 || scale > 64) throw std::invalid_argument("QR scale must be 1..64");

  // Version 0 = the smallest that fits. QR_MODE_8 with case sensitivity: runs of digits and
  // upper-case letters (such as the base32 secret) still get the denser numeric/alphanumeric
  // modes, everything else is stored byte for byte (UTF-8 stays UTF-8).
  const std::string nul_terminated(text);
  errno = 0;
  std::unique_ptr<QRcode, QrFree> code(
      QRcode_encodeString(nul_terminated.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1));
  if (!code) {
    if (errno == ENOMEM) throw std::bad_alloc();
    if (errno == ERANGE) throw std::invalid_argument("QR text too long for a QR code");
    throw std::invalid_argument("QR encoding failed");
  }

  const int width = code->width;
  const int size = width + 2 * kQrQuietZone;
  const std::string n = std::to_string(size);
  const std::string px = std::to_string(size * scale);

  std::string svg;
  svg.reserve(static_cast<std::size_t>(width) * width * 2 + 512);
  svg += R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 )" + n + ' ' + n + R"(" width=")" +
         px + R"(" height=")" + px + R"(" shape-rendering="crispEdges" role="img" aria-label=")" +
         xml_escape(aria_label) + R"(">)";
  svg += R"(<rect width=")" + n + R"(" height=")" + n + R"(" fill="#fff"/>)";
  svg += R"(<path fill="#000" d=")";
  // One sub-path per horizontal run of dark modules: M x y h run v 1 h -run z.
  const unsigned char* data = code->data;
  for (int y = 0; y < width; ++y) {
    for (int x = 0; x < width;) {
      if ((data[y * width + x] & 1) == 0) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < width && (data[y * width + x + run] & 1) != 0) ++run;
      const std::string r = std::to_string(run);
      svg += 'M' + std::to_string(x + kQrQuietZone) + ' ' + std::to_string(y + kQrQuietZone) + 'h' +
             r + "v1h-" + r + 'z';
      x += run;
    }
  }
  svg += R"("/></svg>)";
  return svg;
}

}  // namespace latchkey::methods::totp

#pragma once
// QR codes as small SVG images, for the otpauth:// URI of a TOTP enrolment. libqrencode makes
// the symbol (error correction level M, the smallest version that fits); this file only draws it.
//
//   std::string svg = qr_svg(otpauth_uri(...), "Scan this code with your authenticator app");
//
// The SVG is one <path> of dark modules on a white square with the 4-module quiet zone the QR
// specification asks for, in a viewBox of (width + 8) units; width/height attributes give it a
// default size of `scale` pixels per module, which CSS may override. shape-rendering="crispEdges"
// keeps module edges sharp at any scale, and role="img" with aria-label makes it accessible.
// Pure and deterministic: the same arguments always give the same bytes.

#include <string>
#include <string_view>

namespace latchkey::methods::totp {

constexpr int kQrQuietZone = 4;  // modules of white around the symbol

// Throws std::invalid_argument when `text` is empty or contains a NUL byte or does not fit in a QR
// code (version 40 at level M holds 2331 bytes), when `aria_label` is not valid UTF-8 or contains
// control characters, or when `scale` is outside 1..64. All are programming errors: the text is
// an otpauth URI of bounded length and the label comes from a message catalogue.
std::string qr_svg(std::string_view text, std::string_view aria_label, int scale = 4);

}  // namespace latchkey::methods::totp

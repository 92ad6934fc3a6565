#pragma once
// LATCHKEY_SANITIZED is 1 in a build with AddressSanitizer, ThreadSanitizer or MemorySanitizer
// (GCC's and Clang's ways of saying so), else 0. Their runtimes intercept mmap and reserve
// terabytes of address space, so code that maps memory itself or caps the address space checks
// it (methods/password/hash_memory.hpp, testing/thread_exhaustion.hpp).

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LATCHKEY_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define LATCHKEY_SANITIZED 1
#endif
#endif
#ifndef LATCHKEY_SANITIZED
#define LATCHKEY_SANITIZED 0
#endif

// Shared by both shims: a C boundary that never lets a C++ exception escape.
#pragma once
#include <cstring>
#include <exception>
#include <string>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace es {
inline thread_local std::string last_error;

inline void set_error(const std::string &msg) { last_error = msg; }

// Lite switches the calling thread to flush-denormals-to-zero (MXCSR FTZ/DAZ) when it builds a
// model; the caller's float mode is put back on the way out, whatever happened inside.
struct KeepFloatMode {
#if defined(__x86_64__) || defined(__i386__)
  unsigned int saved = _mm_getcsr();
  ~KeepFloatMode() { _mm_setcsr(saved); }
#endif
};

// Runs body; any exception becomes last_error and the C call returns `failed`.
template <typename R, typename F>
R guarded(R failed, F &&body) {
  KeepFloatMode keep;
  try {
    return body();
  } catch (const std::exception &e) {
    set_error(std::string("C++ exception: ") + e.what());
  } catch (...) {
    set_error("unknown C++ exception");
  }
  return failed;
}
}  // namespace es

#define ES_EXPORT extern "C" __attribute__((visibility("default")))

ES_EXPORT const char *es_last_error() { return es::last_error.c_str(); }

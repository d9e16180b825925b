// Shared by both shims: a C boundary that never lets a C++ exception escape.
#pragma once
#include <cstring>
#include <exception>
#include <string>

namespace es {
inline thread_local std::string last_error;

inline void set_error(const std::string &msg) { last_error = msg; }

// Runs body; any exception becomes last_error and the C call returns `failed`.
template <typename R, typename F>
R guarded(R failed, F &&body) {
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

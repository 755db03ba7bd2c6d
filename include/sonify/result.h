// Errors as values. Every fallible library call returns Result<T>; the CLI turns an
// Error into one stderr line and a non-zero exit. Nothing below the CLI throws across
// a layer boundary.
#pragma once

#include <cassert>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace sonify {

// A failure with a one-line, user-facing message ("FILE: what is wrong").
struct Error {
  std::string message;
};

// Either a value or an Error. Accessing value() of an error is a programming error
// (asserted in debug builds).
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

// Result of an operation that produces nothing but may fail.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

inline std::string to_message_part(std::string s) { return s; }
inline std::string to_message_part(std::string_view s) { return std::string(s); }
inline std::string to_message_part(const char* s) { return s; }
// Numbers as a reader writes them: integers whole, floating point in %g form (0.5, 1e+300,
// nan), never std::to_string's fixed six decimals ("0.000000" for 1e-9).
template <class N, class = std::enable_if_t<std::is_arithmetic_v<N>>>
std::string to_message_part(N n) {
  if constexpr (std::is_floating_point_v<N>) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", static_cast<double>(n));
    return buf;
  } else {
    return std::to_string(n);
  }
}

// Builds an Error from pieces: fail("config.json: missing field '", name, "'").
template <class... Parts>
Error fail(const Parts&... parts) {
  std::string message;
  (message += ... += to_message_part(parts));
  return Error{std::move(message)};
}

}  // namespace sonify

// Propagates an error out of the enclosing function returning Result<..> or Status.
#define SONIFY_TRY(expr)                                             \
  do {                                                               \
    auto sonify_try_status_ = (expr);                                \
    if (!sonify_try_status_.ok()) return sonify_try_status_.error(); \
  } while (0)

// Declares `var` from a Result-returning expression, propagating its error.
#define SONIFY_ASSIGN_OR_RETURN(var, expr)               \
  auto var##_result_ = (expr);                           \
  if (!var##_result_.ok()) return var##_result_.error(); \
  auto var = std::move(var##_result_).value()

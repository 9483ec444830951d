// Result<T>: a value or an error message, for the control plane (loading, config, reload).
// The data plane does not use it: malformed packets are normal input there, not errors.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace pharos {

struct Error {
  std::string message;
};

// An error that points at a place in a file, printed as `file:line: reason`, the way
// named-checkzone and compilers do, so editors can jump to it.
inline Error error_at(const std::string& file, unsigned line, const std::string& reason) {
  return Error{file + ":" + std::to_string(line) + ": " + reason};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace pharos

// Result<T>: the value-or-error type every fallible core call returns.
//
// Core never throws for expected failures (bad input, a missing topic, a
// version conflict, a full disk); it returns an Error whose Kind is one of a
// closed set. Each tool catches errors once, at the top, and maps the kind to
// the exit code of SPEC.md section 2 (see exit_code()). Exceptions are kept for
// bugs and exhaustion (std::bad_alloc) and are reported as internal errors.
#pragma once

#include <cstdlib>
#include <string>
#include <utility>
#include <variant>

#include <fmt/format.h>

namespace evt {

enum class ErrorKind {
    findings,     // 1: ran fine, found problems
    conflict,     // 2: expected-version conflict
    usage,        // 64: bad flag or value
    invalid,      // 65: bad input data
    not_found,    // 66: no such topic, group, file, read model
    unavailable,  // 69: a backend is unreachable
    internal,     // 70: a bug
    corrupt,      // 65: stored data fails verification or has an unknown format
    io,           // 74: I/O error, disk or map full
    busy,         // 75: temporary; retrying may succeed
};

struct Error {
    ErrorKind kind;
    std::string message;
};

// The process exit code of SPEC.md section 2 for an error kind.
int exit_code(ErrorKind kind) noexcept;

template <class... Args>
Error make_error(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
    return Error{kind, fmt::format(f, std::forward<Args>(args)...)};
}

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const& { return std::get<1>(v_); }
    Error&& error() && { return std::get<1>(std::move(v_)); }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : err_(std::move(error)), failed_(true) {}

    bool ok() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const& { return err_; }
    Error&& error() && { return std::move(err_); }

private:
    Error err_{ErrorKind::internal, {}};
    bool failed_ = false;
};

using Status = Result<void>;

}  // namespace evt

// Propagate an error from an expression yielding Result<...>.
#define EVT_TRY(expr)                                          \
    do {                                                       \
        auto&& evt_try_r_ = (expr);                            \
        if (!evt_try_r_.ok()) return std::move(evt_try_r_).error(); \
    } while (0)

#define EVT_CONCAT_INNER(a, b) a##b
#define EVT_CONCAT(a, b) EVT_CONCAT_INNER(a, b)
// Bind the value of a Result to `lhs`, or return its error.
#define EVT_ASSIGN(lhs, expr) EVT_ASSIGN_IMPL(EVT_CONCAT(evt_assign_r_, __LINE__), lhs, expr)
#define EVT_ASSIGN_IMPL(tmp, lhs, expr)                 \
    auto tmp = (expr);                                  \
    if (!tmp.ok()) return std::move(tmp).error();       \
    lhs = std::move(tmp).value()

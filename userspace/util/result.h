// Errors as values: a Result<T> carries either the value or a message with context
// (which probe, which file, errno text). Exceptions only cross the CLI boundary.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace perfbpf {

struct Error {
    std::string message;
};

template <class T>
using Result = std::expected<T, Error>;

// An error with the given message, for `return fail(...)` in a Result-returning function.
inline std::unexpected<Error> fail(std::string message) {
    return std::unexpected<Error>(Error{std::move(message)});
}

// strerror text for an errno value; accepts libbpf's negative codes too.
std::string errno_text(int err);

// "CONTEXT: strerror(err)".
inline std::unexpected<Error> fail_errno(const std::string& context, int err) {
    return fail(context + ": " + errno_text(err));
}

}  // namespace perfbpf

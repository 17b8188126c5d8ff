// Small file helpers that report failures with the path and errno text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace perfbpf {

// Whole file (procfs/sysfs files report size 0, so this reads until EOF).
Result<std::string> read_file(const std::string& path);
// An open file from offset 0 to EOF, whatever its position (pread: for a seq_file of procfs
// or cgroupfs a read at 0 starts the file over); an error names `path`.
Result<std::string> read_from_start(int fd, const std::string& path);

// A file the user named (config, recording, journal): refused unless it is a regular file,
// opened without blocking so a FIFO cannot hang us, and refused when larger than
// `max_bytes` (a file growing while read is cut off there too).
Result<std::string> read_regular_file(const std::string& path, size_t max_bytes);
// The same for a file already open (non-blocking): `path` names it in messages.
Result<std::string> read_regular(int fd, const std::string& path, size_t max_bytes);

// First line without the newline, or an error.
Result<std::string> read_first_line(const std::string& path);
// The first line of a text read (without the newline), or its error.
Result<std::string> first_line(Result<std::string> text);

// Writes the whole string; an error names the path.
Result<void> write_file(const std::string& path, std::string_view content);
// Writes all of `data` to fd; an error names `path`.
Result<void> write_all(int fd, const std::string& path, std::string_view data);

// Parses a decimal unsigned integer; nullopt-like error when not a number.
Result<uint64_t> parse_u64(std::string_view text);

// Splits on any run of the given separator characters, dropping empty fields.
std::vector<std::string_view> split_fields(std::string_view text, std::string_view seps = " \t\n");

std::string_view trim(std::string_view text);

}  // namespace perfbpf

// The headers most test files include, compiled once per test binary (CMake's
// target_precompile_headers): gtest and nlohmann/json alone are ≈1.5 s of each of the
// ≈130 test files' compile on a 2-core CI machine. Each file still includes what it uses.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

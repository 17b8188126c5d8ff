// Every tuner perfbpf has, listed in registry.cpp (one line each).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tune/tuner.h"

namespace perfbpf::tune {

std::vector<std::unique_ptr<Tuner>> make_all_tuners();
std::vector<std::string> tuner_names();

}  // namespace perfbpf::tune

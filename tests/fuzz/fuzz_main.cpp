// One libFuzzer target per entry of entries.h; PERFBPF_FUZZ_ENTRY names which.
#include <cstddef>
#include <cstdint>

#include "entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    perfbpf::fuzz::PERFBPF_FUZZ_ENTRY({reinterpret_cast<const char*>(data), size});
    return 0;
}

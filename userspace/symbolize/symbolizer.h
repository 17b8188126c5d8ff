// Addresses to functions and file:line with elfutils (libdwfl): inlined frames where
// DWARF has them, C++ names demangled, separate debug info found by build-id
// (/usr/lib/debug/.build-id) when installed, `module+0xoffset` when nothing is known.
// Reads ELF/DWARF files only; the process's mappings are an input, so it works for a
// process that has exited and is unit-tested on fixture binaries.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "symbolize/proc_maps.h"

namespace perfbpf {

struct SymbolFrame {
    std::string function;  // demangled; "module+0xoffset" when unknown
    std::string file;      // source file, "" when unknown
    int line = 0;          // 0 when unknown
    std::string module;    // path of the ELF file ("[kernel]" for kernel frames)
    uint64_t offset = 0;   // address in the ELF file (its vaddr), or kernel address
    bool inlined = false;  // a frame DWARF says was inlined into the next one
    bool known = false;    // a symbol was found
};

// Demangles a C++ name (returned unchanged when it is not a mangled name).
std::string demangle(const std::string& name);

class Symbolizer {
  public:
    Symbolizer();
    ~Symbolizer();
    Symbolizer(const Symbolizer&) = delete;
    Symbolizer& operator=(const Symbolizer&) = delete;

    // Frames for one address of a process (innermost inlined frame first). A return
    // address is looked up one byte earlier, so a caller's frame names the line of the
    // call, not the next one.
    std::vector<SymbolFrame> user(uint64_t addr, const MappingSet& maps, bool return_address);

    // Frames for an address of an ELF file (its vaddr).
    std::vector<SymbolFrame> file(const std::string& path, uint64_t vaddr, bool return_address);

    // The ELF vaddr of a runtime address inside `m` (nullopt when the file cannot be read).
    std::optional<uint64_t> file_vaddr(const Mapping& m, uint64_t addr);

  private:
    struct Module;
    Module* module(const std::string& path);
    std::map<std::string, std::unique_ptr<Module>> modules_;
};

// /proc/kallsyms as a sorted table.
class KernelSymbols {
  public:
    static KernelSymbols parse(std::string_view kallsyms_text);
    static KernelSymbols load(const std::string& path = "/proc/kallsyms");
    // "function+0xoff" frame; function empty when below the first symbol.
    SymbolFrame lookup(uint64_t addr) const;
    size_t size() const { return syms_.size(); }

  private:
    struct Sym {
        uint64_t addr;
        std::string name;
        std::string module;
    };
    std::vector<Sym> syms_;
};

}  // namespace perfbpf

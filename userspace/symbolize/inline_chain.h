// The chain of inlined functions at an address, from one walk of each compilation unit's
// DIE tree: dwarf_getscopes walks the whole CU on every call (≈7 ms per address in a
// large C++ binary) and, past the first inlined subroutine, continues with the abstract
// origin's scopes instead of the functions the code was inlined into. The walk records
// every function with code (subprograms and inlined subroutines with their pc ranges and
// the function each was inlined into) and the namespaces and classes that qualify each
// declaration, so later addresses in the CU cost a few range checks.
#pragma once

#include <elfutils/libdw.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace perfbpf {

struct InlineScope {
    std::string function;   // demangled linkage name, else the qualified DW_AT_name
    bool inlined = false;   // an inlined subroutine (the last scope is the subprogram)
    std::string call_file;  // where the next-outer function calls this inline
    int call_line = 0;
};

class InlineChains {
  public:
    InlineChains();
    ~InlineChains();
    InlineChains(const InlineChains&) = delete;
    InlineChains& operator=(const InlineChains&) = delete;

    // The functions at `pc` (a DWARF address of `cu`), innermost first: each inlined
    // subroutine, then the subprogram they were inlined into. Empty when no function of
    // the CU has code at pc.
    std::vector<InlineScope> at(Dwarf_Die* cu, Dwarf_Addr pc);

  private:
    struct Cu;
    Cu& index(Dwarf_Die* cu);
    std::string name(Dwarf_Die* die);
    std::map<Dwarf_Off, std::unique_ptr<Cu>> cus_;
};

}  // namespace perfbpf

#include "symbolize/inline_chain.h"

#include <dwarf.h>

#include <unordered_map>
#include <utility>

#include "symbolize/symbolizer.h"

namespace perfbpf {

struct InlineChains::Cu {
    struct Node {
        Dwarf_Die die;
        int parent = -1;  // the inlined-into function; -1 for a subprogram
        std::vector<std::pair<Dwarf_Addr, Dwarf_Addr>> ranges;
        std::vector<int> children;
    };
    std::vector<Node> nodes;
    std::vector<int> roots;
    // Every subprogram DIE's enclosing "ns::Class::" (declarations included).
    std::unordered_map<Dwarf_Off, std::string> scope_of;

    bool holds(int node, Dwarf_Addr pc) const {
        for (const auto& [lo, hi] : nodes[node].ranges)
            if (pc >= lo && pc < hi) return true;
        return false;
    }
    int find(const std::vector<int>& candidates, Dwarf_Addr pc) const {
        for (int c : candidates)
            if (holds(c, pc)) return c;
        return -1;
    }

    void walk(Dwarf_Die* die, int parent, const std::string& prefix) {
        Dwarf_Die child;
        if (dwarf_child(die, &child) != 0) return;
        do {
            const int tag = dwarf_tag(&child);
            switch (tag) {
                case DW_TAG_subprogram:
                case DW_TAG_inlined_subroutine: {
                    if (tag == DW_TAG_subprogram) scope_of[dwarf_dieoffset(&child)] = prefix;
                    // A function nested in another (a local class's method) is not inlined
                    // into it.
                    const int outer = tag == DW_TAG_subprogram ? -1 : parent;
                    Node n{child, outer, {}, {}};
                    Dwarf_Addr base, start, end;
                    for (ptrdiff_t off = 0;
                         (off = dwarf_ranges(&child, off, &base, &start, &end)) > 0;)
                        n.ranges.emplace_back(start, end);
                    int self = outer;
                    if (!n.ranges.empty()) {
                        self = static_cast<int>(nodes.size());
                        nodes.push_back(std::move(n));
                        (outer < 0 ? roots : nodes[outer].children).push_back(self);
                    }
                    walk(&child, self, prefix);
                    break;
                }
                case DW_TAG_lexical_block:
                    walk(&child, parent, prefix);
                    break;
                case DW_TAG_namespace:
                case DW_TAG_class_type:
                case DW_TAG_structure_type:
                case DW_TAG_union_type: {
                    const char* n = dwarf_diename(&child);
                    walk(&child, parent,
                         prefix +
                             (n                         ? n
                              : tag == DW_TAG_namespace ? "(anonymous namespace)"
                                                        : "{anonymous}") +
                             "::");
                    break;
                }
                default:
                    break;
            }
        } while (dwarf_siblingof(&child, &child) == 0);
    }
};

InlineChains::InlineChains() = default;
InlineChains::~InlineChains() = default;

InlineChains::Cu& InlineChains::index(Dwarf_Die* cu) {
    auto& slot = cus_[dwarf_dieoffset(cu)];
    if (!slot) {
        slot = std::make_unique<Cu>();
        slot->walk(cu, -1, "");
    }
    return *slot;
}

namespace {

// The DIE that declares a function: an inlined subroutine's or concrete instance's
// abstract origin, then a definition's specification (the declaration in its class).
Dwarf_Die declaring_die(Dwarf_Die* die) {
    Dwarf_Die cur = *die;
    for (int hops = 0; hops < 8; ++hops) {
        Dwarf_Attribute attr;
        Dwarf_Die next;
        if (!(dwarf_attr(&cur, DW_AT_abstract_origin, &attr) ||
              dwarf_attr(&cur, DW_AT_specification, &attr)) ||
            !dwarf_formref_die(&attr, &next))
            break;
        cur = next;
    }
    return cur;
}

const char* call_file(Dwarf_Die* cu, Dwarf_Die* inlined) {
    Dwarf_Attribute attr;
    Dwarf_Word idx;
    if (!dwarf_attr(inlined, DW_AT_call_file, &attr) || dwarf_formudata(&attr, &idx) != 0)
        return nullptr;
    Dwarf_Files* files;
    size_t nfiles;
    if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || idx >= nfiles) return nullptr;
    return dwarf_filesrc(files, idx, nullptr, nullptr);
}

int call_line(Dwarf_Die* inlined) {
    Dwarf_Attribute attr;
    Dwarf_Word line;
    if (!dwarf_attr(inlined, DW_AT_call_line, &attr) || dwarf_formudata(&attr, &line) != 0)
        return 0;
    return static_cast<int>(line);
}

}  // namespace

// Linkage name (demangled) first, as it carries the class, namespace and parameters;
// a function with internal linkage has none, so its DW_AT_name qualified by the
// namespaces and classes around its declaration (which may be in another CU).
std::string InlineChains::name(Dwarf_Die* die) {
    Dwarf_Attribute attr;
    for (int at : {DW_AT_linkage_name, DW_AT_MIPS_linkage_name}) {
        if (dwarf_attr_integrate(die, at, &attr)) {
            if (const char* s = dwarf_formstring(&attr)) return demangle(s);
        }
    }
    Dwarf_Die decl = declaring_die(die);
    const char* n = dwarf_diename(&decl);
    if (!n) return {};
    Dwarf_Die decl_cu;
    if (!dwarf_diecu(&decl, &decl_cu, nullptr, nullptr)) return n;
    const Cu& c = index(&decl_cu);
    auto it = c.scope_of.find(dwarf_dieoffset(&decl));
    return it == c.scope_of.end() ? std::string(n) : it->second + n;
}

std::vector<InlineScope> InlineChains::at(Dwarf_Die* cu, Dwarf_Addr pc) {
    Cu& c = index(cu);
    int node = c.find(c.roots, pc);
    if (node < 0) return {};
    for (int inner; (inner = c.find(c.nodes[node].children, pc)) >= 0;) node = inner;
    std::vector<InlineScope> out;
    for (; node >= 0; node = c.nodes[node].parent) {
        Dwarf_Die* die = &c.nodes[node].die;
        InlineScope s;
        s.function = name(die);
        if (dwarf_tag(die) == DW_TAG_inlined_subroutine) {
            s.inlined = true;
            const char* f = call_file(cu, die);
            s.call_file = f ? f : "";
            s.call_line = call_line(die);
        }
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace perfbpf

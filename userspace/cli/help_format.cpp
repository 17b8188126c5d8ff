#include "cli/help_format.h"

#include <algorithm>
#include <sstream>
#include <string>

namespace perfbpf::cli {
namespace {

// Words of each line of `text` refilled to `width` columns; the text's own line breaks stay.
std::string wrap(const std::string& text, size_t width) {
    std::string out;
    std::istringstream lines(text);
    std::string line;
    bool first_line = true;
    while (std::getline(lines, line)) {
        if (!first_line) out += '\n';
        first_line = false;
        // An indented line (a list item) continues two columns further in.
        std::string indent = line.substr(0, line.find_first_not_of(' '));
        const std::string hang = indent.empty() ? indent : indent + "  ";
        std::istringstream words(line);
        std::string word;
        size_t used = 0;
        while (words >> word) {
            if (used > indent.size() && used + 1 + word.size() > width) {
                out += '\n' + hang;
                used = hang.size();
                indent = hang;
            } else if (used == 0) {
                out += indent;
                used = indent.size();
            } else if (used > indent.size()) {
                out += ' ';
                ++used;
            }
            out += word;
            used += word.size();
        }
    }
    return out;
}

class HelpFormatter : public CLI::Formatter {
  public:
    HelpFormatter() { column_width(32); }

    std::string make_option_opts(const CLI::Option* opt) const override {
        if (!opt->get_option_text().empty()) return " " + opt->get_option_text();
        if (opt->get_type_size() == 0) return "";
        // CLI11 appends each validator's description after a ':'.
        std::string name = opt->get_type_name();
        name = name.substr(0, name.find(':'));
        std::string out = name.empty() ? "" : " " + name;
        if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) out += " ...";
        if (opt->get_required()) out += " REQUIRED";
        return out;
    }

    std::string make_option_desc(const CLI::Option* opt) const override {
        return wrap(opt->get_description(), kHelpWidth - column_width_);
    }

    std::string make_description(const CLI::App* app) const override {
        std::string desc = app->get_description();
        return desc.empty() ? "" : wrap(desc, kHelpWidth) + "\n";
    }

    // In a command list, the first sentence of each description: the rest (tune's tuner
    // list, top's keys) is in the command's own help.
    std::string make_subcommand(const CLI::App* sub) const override {
        std::string desc = sub->get_description();
        std::replace(desc.begin(), desc.end(), '\n', ' ');
        if (size_t end = desc.find(". "); end != std::string::npos) desc.resize(end + 1);
        std::stringstream out;
        CLI::detail::format_help(out, sub->get_display_name(true),
                                 wrap(desc, kHelpWidth - column_width_), column_width_);
        return out.str();
    }
};

}  // namespace

std::shared_ptr<CLI::Formatter> help_formatter() {
    return std::make_shared<HelpFormatter>();
}

}  // namespace perfbpf::cli

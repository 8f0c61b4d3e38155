// evt: the dispatcher. `evt append ...` runs evt-append; `evt help TOOL` opens
// its man page; `evt --list` names the tools found beside this executable.
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "tools/common/runner.hpp"

namespace fs = std::filesystem;

namespace {

fs::path self_dir() {
    std::error_code ec;
    fs::path p = fs::read_symlink("/proc/self/exe", ec);
    return ec ? fs::path() : p.parent_path();
}

std::vector<std::string> list_tools() {
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(self_dir(), ec)) {
        std::string n = e.path().filename().string();
        if (n.rfind("evt-", 0) == 0 && access(e.path().c_str(), X_OK) == 0) names.push_back(n.substr(4));
    }
    std::sort(names.begin(), names.end());
    return names;
}

// Replace this process with the tool; returns only on failure.
evt::Result<int> exec_tool(const std::string& name, std::vector<std::string> args) {
    fs::path beside = self_dir() / ("evt-" + name);
    std::vector<char*> argv;
    std::string prog = "evt-" + name;
    argv.push_back(prog.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (access(beside.c_str(), X_OK) == 0) execv(beside.c_str(), argv.data());
    execvp(prog.c_str(), argv.data());
    return evt::make_error(evt::ErrorKind::usage, "'{}' is not an evt tool (see 'evt --list')", name);
}

evt::Result<int> open_man(const std::string& name) {
    std::string page = "evt-" + name;
    for (fs::path p : {self_dir() / "../share/man/man1" / (page + ".1"), fs::path(EVT_SOURCE_DIR) / "man" / (page + ".1")}) {
        if (fs::exists(p)) {
            std::string path = p.string();
            execlp("man", "man", "-l", path.c_str(), static_cast<char*>(nullptr));
        }
    }
    if (access((self_dir() / page).c_str(), X_OK) != 0)
        return evt::make_error(evt::ErrorKind::not_found, "'{}' is not an evt tool (see 'evt --list')", name);
    execlp("man", "man", page.c_str(), static_cast<char*>(nullptr));
    return evt::make_error(evt::ErrorKind::not_found, "no manual page for '{}'", page);
}

}  // namespace

int main(int argc, char** argv) {
    evt::tool::Spec spec{"evt", "The evt toolkit: run `evt TOOL ARGS...` to run evt-TOOL.",
                         {"evt TOOL [ARGS...]", "evt help TOOL", "evt --list"}};
    return evt::tool::main(argc, argv, spec, [](CLI::App& app, evt::tool::Context&) -> evt::tool::RunFn {
        auto list = std::make_shared<bool>(false);
        app.add_flag("--list", *list, "name the tools");
        app.prefix_command();  // everything from TOOL on is passed through untouched
        app.footer("TOOL is one of the names 'evt --list' prints; its ARGS go to evt-TOOL unchanged.");
        CLI::App* a = &app;
        return [=]() -> evt::Result<int> {
            if (*list) {
                for (const auto& n : list_tools()) evt::tool::write_out(n + "\n");
                return 0;
            }
            std::vector<std::string> args = a->remaining();
            if (args.empty()) return evt::make_error(evt::ErrorKind::usage, "no tool named (see 'evt --list')");
            std::string tool = args.front();
            args.erase(args.begin());
            if (tool.size() > 1 && tool[0] == '-') return evt::make_error(evt::ErrorKind::usage, "unknown option '{}'", tool);
            if (tool == "help") {
                if (args.empty()) {
                    evt::tool::write_out(a->help());
                    return 0;
                }
                return open_man(args[0]);
            }
            return exec_tool(tool, args);
        };
    });
}

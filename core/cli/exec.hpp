// Running a command once per event (evt-consume --exec).
//
// The command gets the event (one JSON line) on its standard input and
// inherits standard output and error. Without a shell, the command text is
// split on blanks into argv (no quoting); with one, it is passed to
// /bin/sh -c. run() returns the exit status (a signal-killed child counts as
// 128 + the signal). Errors: not_found (no such program), io.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/util/result.hpp"

namespace evt::cli {

class Command {
public:
    static Result<Command> parse(std::string_view text, bool shell);
    Result<int> run(std::string_view input) const;

private:
    std::vector<std::string> argv_;
};

}  // namespace evt::cli

#include "core/cli/exec.hpp"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <cerrno>
#include <cstring>

extern char** environ;

namespace evt::cli {

Result<Command> Command::parse(std::string_view text, bool shell) {
    Command c;
    if (shell) {
        c.argv_ = {"/bin/sh", "-c", std::string(text)};
        return c;
    }
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        std::size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t') ++i;
        if (i > start) c.argv_.emplace_back(text.substr(start, i - start));
    }
    if (c.argv_.empty()) return Error{ErrorKind::usage, "--exec needs a command"};
    return c;
}

Result<int> Command::run(std::string_view input) const {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return make_error(ErrorKind::io, "pipe: {}", std::strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    std::vector<char*> argv;
    for (const auto& a : argv_) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    if (rc != 0) {
        close(fds[1]);
        return make_error(rc == ENOENT ? ErrorKind::not_found : ErrorKind::io, "--exec '{}': {}", argv_[0],
                          std::strerror(rc));
    }
    // The child may not read its input: a closed pipe is not our error.
    auto old = signal(SIGPIPE, SIG_IGN);
    std::size_t done = 0;
    while (done < input.size()) {
        ssize_t n = write(fds[1], input.data() + done, input.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += static_cast<std::size_t>(n);
    }
    close(fds[1]);
    signal(SIGPIPE, old);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return make_error(ErrorKind::io, "waitpid: {}", std::strerror(errno));
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}

}  // namespace evt::cli

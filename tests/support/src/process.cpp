#include "pavewatch/test_support/process.hpp"

#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace pavewatch::test_support {

extern "C" char** environ;  // NOLINT

Process::Process(
    const std::string& program,
    const std::vector<std::string>& args,
    const std::string& log_path,
    const std::map<std::string, std::string>& env
)
    : log_path_(log_path) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto eq = entry.find('=');
        if (eq != std::string::npos && env.contains(entry.substr(0, eq))) {
            continue;
        }
        env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) {
        env_strings.push_back(k);
        env_strings.back().append("=").append(v);
    }
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) {
        argv.push_back(const_cast<char*>(a.c_str()));
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    const int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw std::runtime_error("cannot open " + log_path);
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(fd);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        // A test that crashes must not leave its services running: they die with it (tests
        // start services from their main thread, whose exit is what triggers this).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) {
            ::_exit(127);  // the test died before the line above took effect
        }
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, STDIN_FILENO);
        ::execve(program.c_str(), argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(fd);
}

Process::~Process() {
    if (pid_ > 0 && !exit_code_) {
        Stop(std::chrono::seconds(10));
    }
}

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), exit_code_(other.exit_code_), log_path_(std::move(other.log_path_)) {
    other.pid_ = -1;
}

bool Process::Running() {
    if (pid_ <= 0 || exit_code_) {
        return false;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return false;
    }
    return true;
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (Running()) {
        if (std::chrono::steady_clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return exit_code_;
}

std::optional<int> Process::Stop(std::chrono::milliseconds timeout) {
    if (!Running()) {
        return exit_code_;
    }
    ::kill(pid_, SIGTERM);
    if (auto code = Wait(timeout)) {
        return code;
    }
    Kill();
    return std::nullopt;
}

void Process::Kill() {
    if (!Running()) {
        return;
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_code_ = 128 + SIGKILL;
}

std::string PavewatchBinary() {
    const char* path = std::getenv("PAVEWATCH_BINARY");  // NOLINT(concurrency-mt-unsafe)
    return path != nullptr ? path : "pavewatch";
}

std::string Brokers() {
    const char* brokers = std::getenv("PAVEWATCH_BROKERS");  // NOLINT(concurrency-mt-unsafe)
    return brokers != nullptr ? brokers : "";
}

std::string TempDir(const std::string& name) {
    const char* base = std::getenv("PAVEWATCH_TEST_TMP");  // NOLINT(concurrency-mt-unsafe)
    std::string dir = std::string(base != nullptr ? base : "/tmp/pavewatch-tests") + "/" + name +
                      "-" + UniqueSuffix();
    std::filesystem::create_directories(dir);
    return dir;
}

std::string UniqueSuffix() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    return std::to_string(::getpid()) + "-" + std::to_string(rd() % 100000) + "-" +
           std::to_string(counter++);
}

int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        throw std::system_error(errno, std::generic_category(), "FreePort: socket");
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    const bool found = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                       ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    const int error = errno;
    ::close(fd);
    if (!found) {
        throw std::system_error(error, std::generic_category(), "FreePort: no loopback port");
    }
    return ntohs(addr.sin_port);
}

std::string Tail(const std::string& path, std::size_t lines) {
    std::ifstream in(path);
    std::deque<std::string> last;
    std::string line;
    while (std::getline(in, line)) {
        last.push_back(line);
        if (last.size() > lines) {
            last.pop_front();
        }
    }
    std::string out;
    for (const auto& l : last) {
        out += l + "\n";
    }
    return out;
}

}  // namespace pavewatch::test_support

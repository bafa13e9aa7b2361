// lock.cc: who holds the writer lock of a database.  When opening a
// writable handle fails with PS_ERR_LOCKED, ps_db_open() replaces Xapian's
// message with lock_message(), which names the holding process (pid and
// name, found through fcntl or /proc) and says what to do: the user's
// next question is always "which process?".

#include "internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

namespace {

// Pid of a process with an open descriptor on `target` (an absolute path)
// whose fdinfo shows a lock, found by walking /proc/<pid>/fd; -1 if none is
// visible (other users' processes usually are not).
long pid_with_locked_fd(const std::string &target)
{
    DIR *proc = opendir("/proc");
    if (!proc)
        return -1;
    long found = -1;
    struct dirent *pe;
    while (found < 0 && (pe = readdir(proc))) {
        char *end;
        long pid = strtol(pe->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        std::string fddir = std::string("/proc/") + pe->d_name + "/fd";
        DIR *fds = opendir(fddir.c_str());
        if (!fds)
            continue;
        struct dirent *fe;
        while ((fe = readdir(fds))) {
            char link[4096];
            std::string fp = fddir + "/" + fe->d_name;
            ssize_t n = readlink(fp.c_str(), link, sizeof link - 1);
            if (n <= 0 || (size_t)n != target.size() ||
                memcmp(link, target.data(), (size_t)n) != 0)
                continue;
            std::string info = std::string("/proc/") + pe->d_name + "/fdinfo/" + fe->d_name;
            FILE *f = fopen(info.c_str(), "re");
            if (!f)
                continue;
            char line[256];
            while (fgets(line, sizeof line, f))
                if (strncmp(line, "lock:", 5) == 0 && strstr(line, "WRITE"))
                    found = pid;
            fclose(f);
            if (found > 0)
                break;
        }
        closedir(fds);
    }
    closedir(proc);
    return found;
}

// Finds the pid of the process holding the lock on path/flintlock:
// fcntl(F_GETLK) answers for classic POSIX locks; Xapian 1.4 uses OFD
// locks, whose owner pid is -1 there and in /proc/locks, so then look for
// the process that has flintlock open with a lock in its fdinfo.  Returns
// -1 when unknown.
long lock_holder_pid(const std::string &path)
{
    std::string lf = path + "/flintlock";
    int fd = open(lf.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    long pid = -1;
    struct flock fl;
    memset(&fl, 0, sizeof fl);
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        pid = fl.l_pid;
    close(fd);
    if (pid < 0) {
        char *abs = realpath(lf.c_str(), nullptr);
        if (abs) {
            std::string target(abs);
            free(abs);
            pid = pid_with_locked_fd(target);
        }
    }
    return pid;
}

}  // namespace

std::string psi::lock_message(const std::string &path)
{
    long pid = lock_holder_pid(path);
    std::string m = "database '" + path + "' is locked: another writer";
    if (pid > 0) {
        m += " (pid " + std::to_string(pid);
        // The process name, e.g. "polysearchd", when /proc shows it.
        std::string comm = "/proc/" + std::to_string(pid) + "/comm";
        if (FILE *cf = fopen(comm.c_str(), "re")) {
            char name[64];
            if (fgets(name, sizeof name, cf)) {
                name[strcspn(name, "\n")] = '\0';
                if (name[0])
                    m += std::string(", ") + name;
            }
            fclose(cf);
        }
        if (pid == (long)getpid())
            m += ", this process";
        m += ")";
    }
    m += " holds the lock; wait for it to finish or stop it (polysearchd, "
         "polysearch-index), then retry, or send additions through the "
         "running daemon";
    return m;
}

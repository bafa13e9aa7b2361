// bulk.cc: a new database built by several writer threads at once
// (ps_bulk_*, polysearch.h, "Bulk builds").
//
// Layout while a build runs, for a target DIR in PARENT:
//   PARENT/DIR/flintlock           the target: an empty directory whose
//                                  write lock (Xapian's OFD lock) the build
//                                  holds, so no other writer starts there
//   PARENT/.DIR.bulk-XXXXXX/       the scratch directory (same filesystem)
//       lock                       locked while the build lives
//       part-0 .. part-N-1         one glass database per writer thread,
//                                  written without fsync (DB_NO_SYNC)
//       spelling                   the spelling words the parts collected
//       out                        the merged database (Xapian's compactor)
// ps_bulk_finish() syncs out, then exchanges it with the target directory
// in one renameat2(RENAME_EXCHANGE), so readers find either no database at
// DIR or the whole merged one.  The scratch directory is removed by finish
// and abort, and after a crash by the next ps_bulk_begin() for DIR.
//
// The parts do not write spelling data: put_prepared_impl() (write.cc)
// adds the title words to the part's spell_sink instead.  finish() writes
// them all into one more database, "spelling", through the normal commit
// path (add_spelling_logged, check_spelling: the Xapian 1.4 fragment bug,
// xapian14_workarounds.cc), and the compactor then copies its tags as they
// are (a key found in one source only is copied, not recompressed), so
// the merged spelling table is one that was read back before it was kept.

#include "internal.h"
#include "util.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace psi;

namespace {

const uint32_t MAX_PARTS = 64;
const char SCRATCH_TAG[] = ".bulk-";

}  // namespace

struct ps_bulk {
    std::string target;         // as given, without trailing slashes
    std::string parent;         // its directory
    std::string base;           // its last component
    std::string scratch;        // PARENT/.BASE.bulk-XXXXXX
    int lock_fd = -1;           // OFD write lock on target/flintlock
    int scratch_fd = -1;        // OFD write lock on scratch/lock
    bool made_target = false;   // begin made the target directory
    bool made_lock = false;     // begin made target/flintlock
    mode_t mode = 0755;         // the target directory's mode
    std::vector<ps_db *> parts;
    std::vector<std::unordered_map<std::string, Xapian::termcount>> spell;

    ~ps_bulk()
    {
        for (ps_db *p : parts)
            delete p;  // in a transaction: nothing is committed
        if (scratch_fd >= 0)
            close(scratch_fd);
        if (lock_fd >= 0)
            close(lock_fd);
    }
};

namespace {

std::string errno_text(const std::string &what, int e)
{
    return what + ": " + strerror(e);
}

// Takes an OFD write lock on the whole file open on fd, without waiting.
bool lock_whole(int fd)
{
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}

// Removes a directory tree without following symbolic links; never throws.
void remove_tree(const std::string &dir) noexcept
{
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
}

// Removes the scratch directories of builds of this target that are no
// longer running (their lock file is not locked): what a crash left.
// Returns how many.
unsigned sweep_stale_scratch(const ps_bulk *b)
{
    std::string prefix = "." + b->base + SCRATCH_TAG;
    DIR *d = opendir(b->parent.c_str());
    if (!d)
        return 0;
    unsigned removed = 0;
    std::vector<std::string> names;
    while (struct dirent *e = readdir(d))
        if (strncmp(e->d_name, prefix.c_str(), prefix.size()) == 0)
            names.emplace_back(e->d_name);
    closedir(d);
    for (const std::string &n : names) {
        std::string dir = b->parent + "/" + n;
        int fd = open((dir + "/lock").c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            // Killed between mkdtemp and the lock file: only an empty
            // directory can be that.
            if (errno == ENOENT && rmdir(dir.c_str()) == 0) {
                ps_log(PS_LOG_INFO, "removed %s, left by an interrupted parallel build",
                       dir.c_str());
                removed++;
            }
            continue;
        }
        if (lock_whole(fd)) {
            remove_tree(dir);
            ps_log(PS_LOG_INFO, "removed %s, left by an interrupted parallel build",
                   dir.c_str());
            removed++;
        }
        close(fd);
    }
    return removed;
}

// Claims the target: makes the directory when missing, takes the write
// lock on its flintlock, and checks that it still holds no database.
ps_status claim_target(ps_bulk *b, std::string &msg)
{
    std::string why;
    char *w = nullptr;
    ps_db_place pl = ps_db_place_of(b->target.c_str(), &w);
    why = w ? w : "";
    free(w);
    if (pl == PS_PLACE_DATABASE) {
        msg = "'" + b->target + "' already holds a database (a bulk build only "
              "makes new ones)";
        return PS_ERR_INVALID;
    }
    if (pl == PS_PLACE_OTHER) {
        msg = why;
        return PS_ERR_INVALID;
    }
    if (pl == PS_PLACE_MISSING) {
        if (mkdir(b->target.c_str(), 0777) != 0) {
            int e = errno;
            msg = errno_text("cannot create the directory '" + b->target + "'", e);
            return e == ENOENT ? PS_ERR_NO_DB : PS_ERR_IO;
        }
        b->made_target = true;
    }
    struct stat sb;
    if (stat(b->target.c_str(), &sb) == 0)
        b->mode = sb.st_mode & 07777;
    std::string lock = b->target + "/flintlock";
    b->made_lock = access(lock.c_str(), F_OK) != 0;
    b->lock_fd = open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (b->lock_fd < 0) {
        msg = errno_text("cannot create '" + lock + "'", errno);
        return PS_ERR_IO;
    }
    if (!lock_whole(b->lock_fd)) {
        int e = errno;
        if (e != EAGAIN && e != EACCES) {
            msg = errno_text("cannot lock '" + lock + "'", e);
            return PS_ERR_IO;
        }
        b->made_lock = false;  // the holder may need it
        msg = lock_message(b->target);
        return PS_ERR_LOCKED;
    }
    // Another writer may have made a database between the look and the lock.
    if (ps_db_place_of(b->target.c_str(), nullptr) != PS_PLACE_EMPTY) {
        b->made_lock = false;
        msg = "'" + b->target + "' got a database while the build started";
        return PS_ERR_INVALID;
    }
    return PS_OK;
}

// Undoes claim_target(): the lock file and the directory when begin made
// them (the directory only while it is empty).
void release_target(ps_bulk *b) noexcept
{
    if (b->lock_fd < 0)
        return;
    if (b->made_lock)
        unlink((b->target + "/flintlock").c_str());
    close(b->lock_fd);
    b->lock_fd = -1;
    if (b->made_target)
        rmdir(b->target.c_str());
}

// A writable handle on a new part database: no fsync (a crash discards
// the whole build), no spelling table (the words go to sink).
ps_db *new_part(const std::string &path,
                std::unordered_map<std::string, Xapian::termcount> *sink)
{
    std::unique_ptr<ps_db> h(new ps_db);
    h->path = path;
    h->wdb = Xapian::WritableDatabase(
        path, Xapian::DB_CREATE | Xapian::DB_BACKEND_GLASS | Xapian::DB_NO_SYNC);
    h->writable = true;
    h->spell_check = false;
    h->spell_sink = sink;
    return h.release();
}

// Writes the spelling words of every part into a new database at path
// through the normal commit path (the Xapian 1.4 fragment workaround
// included).  Returns PS_OK, or the status with the message in msg.
ps_status write_spelling(ps_bulk *b, const std::string &path, std::string &msg)
{
    std::unordered_map<std::string, Xapian::termcount> all;
    for (auto &m : b->spell) {
        if (all.empty()) {
            all.swap(m);
            continue;
        }
        for (const auto &kv : m)
            all[kv.first] += kv.second;
        m.clear();
    }
    std::vector<std::pair<std::string, Xapian::termcount>> words(all.begin(), all.end());
    all.clear();
    std::sort(words.begin(), words.end());
    ps_db *h = nullptr;
    char *e = nullptr;
    ps_status st = ps_db_open(path.c_str(), PS_DB_WRITE, &h, &e);
    msg = e ? e : "";
    free(e);
    if (st != PS_OK)
        return st;
    try {
        ensure_txn(h);
        for (const auto &w : words) {
            add_spelling_logged(h, w.first, w.second);
            h->pending += w.first.size() + 8;
        }
        h->dirty = !words.empty();
        st = commit_impl(h);
    } catch (...) {
        st = fail(h);
    }
    if (st != PS_OK) {
        msg = h->err;
        ps_db_cancel(h);
        ps_db_close(h);
        return st;
    }
    st = ps_db_close(h);
    if (st != PS_OK)
        msg = "cannot close the spelling database";
    return st;
}

// Reports the compactor's progress as debug lines.
class LogCompactor : public Xapian::Compactor {
  public:
    void set_status(const std::string &table, const std::string &status) override
    {
        if (!status.empty())
            ps_log(PS_LOG_DEBUG, "merging %s: %s", table.c_str(), status.c_str());
    }
};

// fdatasyncs every file of directory dir, then dir itself.
bool sync_tree(const std::string &dir, std::string &msg)
{
    DIR *d = opendir(dir.c_str());
    if (!d) {
        msg = errno_text("cannot read '" + dir + "'", errno);
        return false;
    }
    bool ok = true;
    while (struct dirent *e = readdir(d)) {
        std::string p = dir + "/" + e->d_name;
        struct stat sb;
        if (lstat(p.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        int fd = open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fdatasync(fd) != 0) {
            msg = errno_text("cannot sync '" + p + "'", errno);
            ok = false;
        }
        if (fd >= 0)
            close(fd);
        if (!ok)
            break;
    }
    closedir(d);
    if (!ok)
        return false;
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || ps_fsync_dir_fd(fd) != 0) {
        msg = errno_text("cannot sync the directory '" + dir + "'", errno);
        ok = false;
    }
    if (fd >= 0)
        close(fd);
    return ok;
}

// Puts the merged database `out` in the target's place in one step.  The
// target holds nothing but the lock file (and the leftovers of a killed
// creation), which end up at `out` and go with the scratch directory.
bool switch_in(ps_bulk *b, const std::string &out, std::string &msg)
{
    if (chmod(out.c_str(), b->mode) != 0) {
        msg = errno_text("cannot set the mode of '" + out + "'", errno);
        return false;
    }
    if (renameat2(AT_FDCWD, out.c_str(), AT_FDCWD, b->target.c_str(),
                  RENAME_EXCHANGE) != 0) {
        int e = errno;
        if (e != EINVAL && e != ENOSYS && e != ENOTSUP) {
            msg = errno_text("cannot move the new database to '" + b->target + "'", e);
            return false;
        }
        // No RENAME_EXCHANGE on this filesystem: empty the target (we hold
        // its lock, and it holds no database) and rename over it.
        std::vector<std::string> junk;
        if (!only_create_leftovers(b->target, &junk, nullptr)) {
            msg = "'" + b->target + "' changed during the build";
            return false;
        }
        junk.push_back("flintlock");
        for (const auto &n : junk)
            unlink((b->target + "/" + n).c_str());
        if (rename(out.c_str(), b->target.c_str()) != 0) {
            msg = errno_text("cannot move the new database to '" + b->target + "'", errno);
            return false;
        }
    }
    // The old lock file is out of the target now: unlocking it lets no one
    // in, and the new database is unlocked.
    close(b->lock_fd);
    b->lock_fd = -1;
    if (ps_fsync_parent(b->target.c_str()) != 0) {
        // The switch is done; only its durability against power loss is
        // in doubt.
        ps_log(PS_LOG_WARN, "cannot sync the directory holding %s: %s",
               b->target.c_str(), strerror(errno));
    }
    return true;
}

// Splits path into parent and last component (trailing slashes dropped).
bool split_path(const std::string &path, std::string &parent, std::string &base)
{
    std::string p = path;
    while (p.size() > 1 && p.back() == '/')
        p.pop_back();
    size_t slash = p.rfind('/');
    parent = slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
    base = slash == std::string::npos ? p : p.substr(slash + 1);
    return !base.empty() && base != "." && base != ".." && base != "/";
}

void discard(ps_bulk *b) noexcept
{
    for (ps_db *&p : b->parts) {
        ps_db_cancel(p);
        ps_db_close(p);
        p = nullptr;
    }
    b->parts.clear();
    if (!b->scratch.empty())
        remove_tree(b->scratch);
    release_target(b);
}

}  // namespace

// ---- Entry points -------------------------------------------------------

extern "C" ps_status ps_bulk_begin(const char *path, uint32_t nparts, ps_bulk **out,
                                   char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st = PS_ERR_INVALID;
    std::unique_ptr<ps_bulk> b;
    try {
        b.reset(new ps_bulk);
        if (!path || !out || nparts < 1 || nparts > MAX_PARTS) {
            msg = "invalid argument to ps_bulk_begin";
        } else if (!split_path(path, b->parent, b->base)) {
            msg = std::string("'") + path + "' cannot be a database directory";
        } else {
            b->target = path;
            while (b->target.size() > 1 && b->target.back() == '/')
                b->target.pop_back();
            st = claim_target(b.get(), msg);
            if (st == PS_OK) {
                sweep_stale_scratch(b.get());
                std::string tmpl = b->parent + "/." + b->base + SCRATCH_TAG + "XXXXXX";
                std::vector<char> buf(tmpl.begin(), tmpl.end());
                buf.push_back('\0');
                if (!mkdtemp(buf.data())) {
                    msg = errno_text("cannot create a scratch directory beside '" +
                                     b->target + "'", errno);
                    st = PS_ERR_IO;
                } else {
                    b->scratch = buf.data();
                    b->scratch_fd = open((b->scratch + "/lock").c_str(),
                                         O_RDWR | O_CREAT | O_CLOEXEC, 0600);
                    struct stat s1, s2;
                    if (b->scratch_fd < 0 || !lock_whole(b->scratch_fd)) {
                        msg = errno_text("cannot lock '" + b->scratch + "/lock'", errno);
                        st = PS_ERR_IO;
                    } else if (stat(b->scratch.c_str(), &s1) != 0 ||
                               stat(b->target.c_str(), &s2) != 0 || s1.st_dev != s2.st_dev) {
                        msg = "'" + b->target + "' is on another filesystem than its "
                              "parent directory (a mount point): the new database "
                              "could not be moved into it";
                        st = PS_ERR_INVALID;
                    } else {
                        b->spell.resize(nparts);
                        for (uint32_t i = 0; i < nparts; i++)
                            b->parts.push_back(new_part(
                                b->scratch + "/part-" + std::to_string(i), &b->spell[i]));
                        *out = b.release();
                        return PS_OK;
                    }
                }
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    if (b)
        discard(b.get());
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" unsigned ps_bulk_cleanup(const char *path) noexcept
{
    try {
        ps_bulk b;
        if (!path || !split_path(path, b.parent, b.base))
            return 0;
        return sweep_stale_scratch(&b);
    } catch (...) {
        return 0;
    }
}

extern "C" uint32_t ps_bulk_nparts(const ps_bulk *b) noexcept
{
    return b ? (uint32_t)b->parts.size() : 0;
}

extern "C" ps_db *ps_bulk_part(ps_bulk *b, uint32_t i) noexcept
{
    return b && i < b->parts.size() ? b->parts[i] : nullptr;
}

extern "C" const char *ps_bulk_scratch(const ps_bulk *b) noexcept
{
    return b ? b->scratch.c_str() : nullptr;
}

extern "C" ps_status ps_bulk_finish(ps_bulk *b, uint64_t *ndocs, char **errmsg) noexcept
{
    if (ndocs)
        *ndocs = 0;
    if (errmsg)
        *errmsg = nullptr;
    if (!b) {
        if (errmsg)
            *errmsg = strdup("invalid argument to ps_bulk_finish");
        return PS_ERR_INVALID;
    }
    std::string msg;
    ps_status st = PS_OK;
    try {
        // 1. Commit and close the parts.
        for (size_t i = 0; i < b->parts.size() && st == PS_OK; i++) {
            ps_db *p = b->parts[i];
            b->parts[i] = nullptr;
            st = ps_db_close(p);
            if (st != PS_OK)
                msg = "part " + std::to_string(i) + " of the build: " +
                      ps_status_str(st);
        }
        // 2. The spelling words, then the merge.
        uint64_t t0 = ps_now_us();
        std::string spelling = b->scratch + "/spelling";
        if (st == PS_OK) {
            b->parts.clear();
            st = write_spelling(b, spelling, msg);
            if (st != PS_OK)
                msg = "spelling data: " + msg;
        }
        if (st == PS_OK) {
            uint64_t t1 = ps_now_us();
            Xapian::Database src;
            for (size_t i = 0; i < b->spell.size(); i++)
                src.add_database(Xapian::Database(b->scratch + "/part-" + std::to_string(i),
                                                  Xapian::DB_BACKEND_GLASS));
            src.add_database(Xapian::Database(spelling, Xapian::DB_BACKEND_GLASS));
            std::string out = b->scratch + "/out";
            LogCompactor compactor;
            unsigned flags = Xapian::Compactor::FULL;
            if (b->spell.size() + 1 > 3)
                flags |= Xapian::DBCOMPACT_MULTIPASS;
            src.compact(out, flags, 0, compactor);
            uint64_t total = src.get_doccount();
            src.close();
            // Less to leave behind, and back the disk space they took.
            for (size_t i = 0; i < b->spell.size(); i++)
                remove_tree(b->scratch + "/part-" + std::to_string(i));
            remove_tree(spelling);
            uint64_t t2 = ps_now_us();
            // 3. Durable, then in place.
            if (!sync_tree(out, msg) || !switch_in(b, out, msg)) {
                st = PS_ERR_IO;
            } else {
                uint64_t t3 = ps_now_us();
                ps_log(PS_LOG_DEBUG, "merged %zu parts: spelling %.1f s, compaction %.1f s, "
                       "sync and switch %.1f s", b->spell.size(), (t1 - t0) / 1e6,
                       (t2 - t1) / 1e6, (t3 - t2) / 1e6);
                if (ndocs)
                    *ndocs = total;
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    // Whatever the library calls it, a failure here is one of writing
    // files (a full disk, an I/O error): the new database was not made.
    if (st == PS_ERR_NO_DB || st == PS_ERR_CORRUPT || st == PS_ERR_INVALID ||
        st == PS_ERR_LOCKED)
        st = PS_ERR_IO;
    discard(b);  // after a switch: only the scratch directory is left
    delete b;
    if (st != PS_OK && errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" void ps_bulk_abort(ps_bulk *b) noexcept
{
    if (!b)
        return;
    discard(b);
    delete b;
}

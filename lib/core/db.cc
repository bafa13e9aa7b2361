// db.cc: a database handle's life: ps_db_open (a local glass database,
// read-only or writable, or a xapian-replicate stub), ps_db_place_of and
// ps_db_create (an empty database where none is), ps_db_close (which
// commits pending changes), ps_db_errmsg, ps_db_reopen, the revision
// (ps_db_revision, and ps_db_disk_revision from the version file without
// opening the database), and the handle's boilerplate matcher.  Sharded
// handles are opened in shards.cc; writing is in write.cc.

#include "analyze.h"
#include "internal.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace psi;

ps_boilerplate *psi::get_bp(ps_db *db)
{
    if (!db->bp) {
        char *e = nullptr;
        db->bp = ps_boilerplate_new(nullptr, &e);
        free(e);
        if (!db->bp)
            throw std::bad_alloc();
    }
    return db->bp;
}

// ---- Opening and closing ------------------------------------------------

extern "C" ps_status ps_db_open(const char *path, ps_db_mode mode, ps_db **out,
                                char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st;
    try {
        if (!path || !*path || !out || (mode != PS_DB_READ && mode != PS_DB_WRITE)) {
            msg = "invalid argument to ps_db_open";
            st = PS_ERR_INVALID;
        } else {
            std::unique_ptr<ps_db> h(new ps_db);
            h->path = path;
            struct stat sb;
            bool exists = stat(path, &sb) == 0;
            if (exists && !S_ISDIR(sb.st_mode)) {
                msg = std::string("'") + path + "' is not a database directory "
                      "(only glass databases opened by directory are accepted)";
                st = PS_ERR_NO_DB;
            } else if (mode == PS_DB_READ && !exists) {
                msg = std::string("no database at '") + path + "': " + strerror(errno);
                st = PS_ERR_NO_DB;
            } else {
                std::string stub = std::string(path) + "/XAPIANDB";
                if (mode == PS_DB_READ && access(stub.c_str(), F_OK) == 0) {
                    // A replica made by xapian-replicate: a stub file naming
                    // the live copy (docs/SCALING.md).
                    h->rdb = Xapian::Database(stub, Xapian::DB_BACKEND_STUB);
                } else if (mode == PS_DB_READ) {
                    h->rdb = Xapian::Database(path, Xapian::DB_BACKEND_GLASS);
                } else {
                    if (exists)
                        discard_unfinished_create(path);
                    h->wdb = Xapian::WritableDatabase(
                        path, Xapian::DB_CREATE_OR_OPEN | Xapian::DB_BACKEND_GLASS);
                    h->writable = true;
                    h->spell_check = true;
                }
                *out = h.release();
                return PS_OK;
            }
        }
    } catch (...) {
        st = map_exception(msg);
        if (st == PS_ERR_LOCKED) {
            try {
                msg = lock_message(path);
            } catch (...) {
            }
        }
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

// ---- Creating an empty database -----------------------------------------

namespace {

// The directory holding path ("." when path has no slash).
std::string parent_of(const std::string &path)
{
    std::string p = path;
    while (p.size() > 1 && p.back() == '/')
        p.pop_back();
    size_t slash = p.rfind('/');
    if (slash == std::string::npos)
        return ".";
    return slash == 0 ? "/" : p.substr(0, slash);
}

// fsync of a directory, so that the entries made in it survive a crash.
bool sync_dir(const std::string &dir, std::string &msg)
{
    int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
        msg = "cannot sync the directory '" + dir + "': " + strerror(errno);
        if (fd >= 0)
            close(fd);
        return false;
    }
    close(fd);
    return true;
}

ps_db_place place_of(const std::string &p, std::string &why)
{
    struct stat sb;
    if (stat(p.c_str(), &sb) != 0) {
        int e = errno;
        if (e == ENOENT && lstat(p.c_str(), &sb) == 0) {
            why = "'" + p + "' is a symbolic link to a missing path";
            return PS_PLACE_OTHER;
        }
        if (e == ENOENT)
            return PS_PLACE_MISSING;
        why = "cannot reach '" + p + "': " + strerror(e);
        return PS_PLACE_OTHER;
    }
    if (!S_ISDIR(sb.st_mode)) {
        why = "'" + p + "' exists and is not a directory";
        return PS_PLACE_OTHER;
    }
    for (const char *marker : {"/iamglass", "/XAPIANDB", "/SHARDS"})
        if (access((p + marker).c_str(), F_OK) == 0)
            return PS_PLACE_DATABASE;
    std::string other;
    errno = 0;
    if (only_create_leftovers(p, nullptr, &other))
        return PS_PLACE_EMPTY;
    if (other.empty())
        why = "cannot read the directory '" + p + "': " +
              strerror(errno ? errno : EIO);
    else
        why = "'" + p + "' is a directory that holds files but no database (first: '" +
              other + "')";
    return PS_PLACE_OTHER;
}

}  // namespace

extern "C" ps_db_place ps_db_place_of(const char *path, char **why) noexcept
{
    if (why)
        *why = nullptr;
    std::string w;
    ps_db_place pl = PS_PLACE_OTHER;
    try {
        if (!path || !*path)
            w = "no path given";
        else
            pl = place_of(path, w);
    } catch (...) {
        w = "out of memory";
        pl = PS_PLACE_OTHER;
    }
    if (why && pl == PS_PLACE_OTHER)
        *why = strdup(w.c_str());
    return pl;
}

extern "C" ps_status ps_db_create(const char *path, int *created, char **errmsg) noexcept
{
    if (created)
        *created = 0;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st = PS_ERR_INVALID;
    bool made_dir = false;
    try {
        std::string p = path ? path : "";
        ps_db_place pl = p.empty() ? PS_PLACE_OTHER : place_of(p, msg);
        if (p.empty()) {
            msg = "invalid argument to ps_db_create";
        } else if (pl == PS_PLACE_DATABASE) {
            return PS_OK;
        } else if (pl == PS_PLACE_OTHER) {
            msg += ": no database is created there (only in a missing or "
                   "empty directory)";
        } else if (pl == PS_PLACE_MISSING && mkdir(p.c_str(), 0777) != 0 &&
                   errno != EEXIST) {
            int e = errno;
            st = e == ENOENT ? PS_ERR_NO_DB : PS_ERR_IO;
            msg = "cannot create the directory '" + p + "': " +
                  (e == ENOENT ? "'" + parent_of(p) + "' does not exist (only the "
                                 "last directory of the path is made)"
                               : std::string(strerror(e)));
        } else {
            made_dir = pl == PS_PLACE_MISSING;
            ps_db *h = nullptr;
            char *e = nullptr;
            st = ps_db_open(path, PS_DB_WRITE, &h, &e);
            msg = e ? e : "";
            free(e);
            if (st == PS_OK) {
                st = ps_db_close(h);  // Xapian wrote revision 0 on creation
                if (st != PS_OK)
                    msg = "cannot commit the new database at '" + p + "'";
            }
            if (st == PS_OK && (!sync_dir(p, msg) ||
                                (made_dir && !sync_dir(parent_of(p), msg))))
                st = PS_ERR_IO;
            if (st == PS_OK) {
                if (created)
                    *created = 1;
                return PS_OK;
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    if (made_dir && path)
        rmdir(path);  // only when still empty
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" ps_status ps_db_close(ps_db *db) noexcept
{
    if (!db)
        return PS_OK;
    ps_status st = PS_OK;
    if (db->sharded) {
        for (ps_db *&sub : db->subs) {
            ps_status s2 = ps_db_close(sub);
            if (s2 != PS_OK && st == PS_OK) {
                st = s2;
                db->err = "shard '" + sub->path + "'";
            }
            sub = nullptr;
        }
        db->subs.clear();
    } else if (db->writable) {
        try {
            st = db->stuck_txn ? PS_OK : commit_impl(db);
        } catch (...) {
            st = fail(db);
        }
        try {
            db->wdb.close();
        } catch (...) {
            if (st == PS_OK)
                st = fail(db);
        }
    }
    delete db;
    return st;
}

extern "C" const char *ps_db_errmsg(const ps_db *db) noexcept
{
    return db ? db->err.c_str() : "no database handle";
}

extern "C" ps_status ps_db_reopen(ps_db *db, int *changed) noexcept
{
    if (changed)
        *changed = 0;
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        if (db->writable)
            return PS_OK;
        if (db->sharded) {
            bool ch = reopen_shards(db);
            if (changed)
                *changed = ch;
            return PS_OK;
        }
        Xapian::rev before = db->rdb.get_revision();
        db->rdb.reopen();
        if (changed)
            *changed = db->rdb.get_revision() != before;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

extern "C" uint64_t ps_db_revision(ps_db *db) noexcept
{
    if (!db)
        return 0;
    try {
        if (db->sharded) {
            // Sum of the shards' revisions: moves when any shard moves.
            uint64_t sum = 0;
            for (ps_db *sub : db->subs)
                sum += sub->wdb.get_revision();
            for (ps_shard &sh : db->shards)
                if (sh.up)
                    sum += sh.db.get_revision();
            return sum;
        }
        return db->db().get_revision();
    } catch (...) {
        fail(db);
        return 0;
    }
}

// Reads the revision from the glass version file "iamglass": the magic
// string, a 2-byte format version, a 16-byte UUID, then the revision as a
// packed unsigned integer (7 bits per byte, least significant first).  This
// avoids opening every table just to poll for a new commit; the format is
// Xapian 1.4's (checked against get_revision() in tests/unit/test_core_db.c).
extern "C" uint64_t ps_db_disk_revision(const char *path) noexcept
{
    static const char magic[] = "\x0f\x0dXapian Glass";
    const size_t mlen = sizeof magic - 1;
    if (!path)
        return 0;
    try {
        std::string f = std::string(path) + "/iamglass";
        int fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            // A xapian-replicate replica: the stub "auto replica_N" names
            // the live copy.
            FILE *sf = fopen((std::string(path) + "/XAPIANDB").c_str(), "re");
            char line[256] = {0};
            bool got = false;
            while (sf && !got && fgets(line, sizeof line, sf))
                got = strncmp(line, "auto ", 5) == 0;  // skip the comments
            if (sf)
                fclose(sf);
            if (!got || strncmp(line, "auto ", 5) != 0)
                return 0;
            std::string sub(line + 5);
            while (!sub.empty() && (sub.back() == '\n' || sub.back() == '\r'))
                sub.pop_back();
            if (sub.empty() || sub.find('/') != std::string::npos)
                return 0;
            f = std::string(path) + "/" + sub + "/iamglass";
            fd = open(f.c_str(), O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0)
            return 0;
        unsigned char buf[256];
        ssize_t n = read(fd, buf, sizeof buf);
        close(fd);
        size_t off = mlen + 2 + 16;
        if (n < (ssize_t)off + 1 || memcmp(buf, magic, mlen) != 0)
            return 0;
        uint64_t rev = 0;
        for (int shift = 0; off < (size_t)n && shift < 64; shift += 7) {
            unsigned char b = buf[off++];
            rev |= (uint64_t)(b & 0x7f) << shift;
            if (!(b & 0x80))
                return rev;
        }
        return 0;
    } catch (...) {
        return 0;
    }
}

// ---- Boilerplate --------------------------------------------------------

extern "C" const ps_boilerplate *ps_db_boilerplate(ps_db *db) noexcept
{
    if (!db)
        return nullptr;
    try {
        return get_bp(db);
    } catch (...) {
        fail(db);
        return nullptr;
    }
}

extern "C" ps_status ps_db_set_boilerplate_file(ps_db *db, const char *path) noexcept
{
    if (!db)
        return PS_ERR_INVALID;
    db->err.clear();
    try {
        char *e = nullptr;
        ps_boilerplate *bp = ps_boilerplate_new(path, &e);
        if (!bp) {
            std::string m = e ? e : "cannot read the boilerplate file";
            free(e);
            return set_err(db, PS_ERR_IO, m);
        }
        free(e);
        for (ps_db *sub : db->subs) {
            ps_status st = ps_db_set_boilerplate_file(sub, path);
            if (st != PS_OK) {
                ps_boilerplate_free(bp);
                return from_sub(db, sub, st);
            }
        }
        ps_boilerplate_free(db->bp);
        db->bp = bp;
        return PS_OK;
    } catch (...) {
        return fail(db);
    }
}

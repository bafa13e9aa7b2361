// shards.cc: sharded handles (ps_db_open_shards, ps_db_open_dir).  A read
// handle combines the shards that are up into one Xapian::Database and
// retries the others; a write handle holds one single-database writable
// handle per shard and routes each document by fnv1a64(id) % N.  Also the
// shard specs ("tcp:HOST:PORT" or a directory) and the SHARDS file of a
// shard set directory.  The entry points that route a call to a shard
// (put, delete, commit, get...) use route_sub()/from_sub() from here.

#include "internal.h"
#include "addr.h"
#include "util.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

using namespace psi;

namespace {

const size_t MAX_SHARDS = 1024;

}  // namespace

uint64_t psi::fnv1a64(const char *id)
{
    uint64_t h = 14695981039346656037ULL;
    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return h;
}

namespace {

// "tcp:HOST:PORT" -> host, port, with the one address parser (lib/wire/
// addr.h: an IPv6 host is written in brackets, tcp:[::1]:8100); false for
// anything else (a local path) or a malformed address.
bool parse_tcp(const std::string &spec, std::string &host, unsigned &port)
{
    if (spec.compare(0, 4, "tcp:") != 0)
        return false;
    static const ps_addr_opts opts = {0, 1, 0};     // port required, 1..65535
    ps_addr a;
    char err[128];
    if (ps_addr_parse(spec.c_str() + 4, &opts, &a, err, sizeof err) != 0)
        return false;
    host = a.host;
    port = a.port;
    return true;
}

bool is_tcp_spec(const std::string &spec)
{
    return spec.compare(0, 4, "tcp:") == 0;
}

// Marks s down with the message of the exception being handled, tried at
// now.  Must be called from inside a catch block.
void mark_down(ps_shard &s, uint64_t now)
{
    map_exception(s.err);
    s.up = false;
    s.gen++;
    s.db = Xapian::Database();
    s.last_try_us = now;
}

// Opens one shard for reading; records the outcome in s (never throws
// Xapian errors; may throw std::bad_alloc).
void open_read_shard(ps_shard &s, const ps_shard_opts &o)
{
    s.last_try_us = ps_now_us();
    try {
        std::string host;
        unsigned port = 0;
        if (parse_tcp(s.spec, host, port))
            s.db = Xapian::Remote::open(host, port, o.timeout_ms, o.connect_timeout_ms);
        else if (is_tcp_spec(s.spec))
            throw Xapian::InvalidArgumentError("bad shard spec (want tcp:HOST:PORT)");
        else
            s.db = Xapian::Database(s.spec, Xapian::DB_BACKEND_GLASS);
        s.up = true;
        s.gen++;
        s.err.clear();
    } catch (const std::bad_alloc &) {
        throw;
    } catch (...) {
        mark_down(s, s.last_try_us);
    }
}

// Rebuilds the combined database from the shards that are up.
void rebuild_combined(ps_db *db)
{
    Xapian::Database c;
    for (ps_shard &s : db->shards)
        if (s.up)
            c.add_database(s.db);
    db->rdb = c;
    db->langs_valid = false;
}

}  // namespace

// "shard 'tcp:h:1' down: why; ..." for the shards that are down.
std::string psi::down_message(const ps_db *db)
{
    std::string m;
    for (const ps_shard &s : db->shards)
        if (!s.up)
            m += (m.empty() ? "" : "; ") + std::string("shard '") + s.spec +
                 "' down: " + s.err;
    return m;
}

bool psi::any_down(const ps_db *db)
{
    for (const ps_shard &s : db->shards)
        if (!s.up)
            return true;
    return false;
}

// After a NetworkError: the search was abandoned half-way, so the other
// remote connections may still have replies in flight.  Reconnects every
// remote shard that was up (bounded by the connect timeout), reopens the
// local ones, marks those that fail down and rebuilds the combined
// database.
void psi::probe_shards(ps_db *db)
{
    for (ps_shard &s : db->shards) {
        if (!s.up)
            continue;
        if (is_tcp_spec(s.spec)) {
            open_read_shard(s, db->sopts);
            continue;
        }
        try {
            if (s.db.reopen())
                s.gen++;
        } catch (const std::bad_alloc &) {
            throw;
        } catch (...) {
            mark_down(s, ps_now_us());
        }
    }
    rebuild_combined(db);
}

// Reopens every shard that is up and retries the ones down (at most every
// retry_ms).  Returns true when the combined snapshot may have changed.
bool psi::reopen_shards(ps_db *db)
{
    bool changed = false, rebuild = false;
    uint64_t now = ps_now_us();
    for (ps_shard &s : db->shards) {
        if (s.up) {
            try {
                if (s.db.reopen()) {
                    s.gen++;
                    changed = true;
                }
            } catch (const std::bad_alloc &) {
                throw;
            } catch (...) {
                mark_down(s, now);
                rebuild = true;
            }
        } else if (now - s.last_try_us >= (uint64_t)db->sopts.retry_ms * 1000) {
            open_read_shard(s, db->sopts);
            if (s.up)
                rebuild = true;
        }
    }
    if (rebuild)
        rebuild_combined(db);
    if (changed || rebuild) {
        db->langs_valid = false;
        return true;
    }
    return false;
}

// The database that holds id (or would): the handle's own, or the one of
// the shard fnv1a64(id) % N.  A sharded read handle whose shard is down:
// nullptr, with "shard 'SPEC' holding this id is down: why" in *down.
Xapian::Database *psi::owner_db(ps_db *db, const char *id, std::string *down)
{
    if (!db->sharded)
        return &db->db();
    size_t n = db->writable ? db->subs.size() : db->shards.size();
    size_t i = valid_id(id) ? fnv1a64(id) % n : 0;
    if (db->writable)
        return &db->subs[i]->wdb;
    ps_shard &s = db->shards[i];
    if (s.up)
        return &s.db;
    if (down)
        *down = "shard '" + s.spec + "' holding this id is down: " + s.err;
    return nullptr;
}

std::vector<Xapian::Database *> psi::main_dbs(ps_db *db)
{
    std::vector<Xapian::Database *> v;
    if (!db->sharded)
        v.push_back(&db->db());
    for (ps_db *sub : db->subs)
        v.push_back(&sub->wdb);
    for (ps_shard &s : db->shards)
        if (s.up)
            v.push_back(&s.db);
    return v;
}

std::vector<uint64_t> psi::main_revisions(ps_db *db)
{
    std::vector<uint64_t> v;
    if (!db->sharded)
        v.push_back(db->db().get_revision());
    static std::atomic<uint64_t> unknown{0};
    for (ps_db *sub : db->subs)
        v.push_back(is_tcp_spec(sub->path) ? UINT64_MAX - 1 - unknown++
                                           : (uint64_t)sub->wdb.get_revision());
    for (ps_shard &s : db->shards)
        v.push_back(s.up ? s.gen : UINT64_MAX);
    return v;
}

void psi::reopen_main(ps_db *db)
{
    if (db->writable)
        return;
    if (db->sharded)
        (void)reopen_shards(db);
    else
        db->rdb.reopen();
    db->langs_valid = false;
}

bool psi::has_remote(const ps_db *db)
{
    for (const ps_shard &s : db->shards)
        if (is_tcp_spec(s.spec))
            return true;
    for (const ps_db *sub : db->subs)
        if (is_tcp_spec(sub->path))
            return true;
    return false;
}

// The sub-handle of a writable sharded handle that owns id (shard 0 for an
// invalid id, whose handle then reports the error).
ps_db *psi::route_sub(ps_db *db, const char *id)
{
    if (!valid_id(id))
        return db->subs[0];
    return db->subs[fnv1a64(id) % db->subs.size()];
}

// Result of a call on a sub-handle: copies its message to the parent.
ps_status psi::from_sub(ps_db *db, ps_db *sub, ps_status st)
{
    if (st != PS_OK)
        db->err = sub->err;
    db->langs_valid = false;
    return st;
}

namespace {

// Opens one shard writable as a single-database handle.
ps_status open_write_shard(const std::string &spec, const ps_shard_opts &o,
                           ps_db **out, std::string &msg)
{
    std::string host;
    unsigned port = 0;
    if (!parse_tcp(spec, host, port)) {
        if (is_tcp_spec(spec)) {
            msg = "bad shard spec '" + spec + "' (want tcp:HOST:PORT)";
            return PS_ERR_INVALID;
        }
        char *e = nullptr;
        ps_status st = ps_db_open(spec.c_str(), PS_DB_WRITE, out, &e);
        if (st != PS_OK)
            msg = "shard '" + spec + "': " + (e ? e : "");
        free(e);
        return st;
    }
    try {
        std::unique_ptr<ps_db> h(new ps_db);
        h->path = spec;
        // Commits of big batches take longer than one search: 10x.
        h->wdb = Xapian::Remote::open_writable(host, port, o.timeout_ms * 10,
                                               o.connect_timeout_ms);
        h->writable = true;
        *out = h.release();
        return PS_OK;
    } catch (...) {
        ps_status st = map_exception(msg);
        msg = "shard '" + spec + "': " + msg;
        return st;
    }
}

}  // namespace

// ---- Entry points -------------------------------------------------------

extern "C" void ps_shard_opts_init(ps_shard_opts *o) noexcept
{
    if (!o)
        return;
    o->allow_partial = 1;
    o->timeout_ms = 5000;
    o->connect_timeout_ms = 2000;
    o->retry_ms = 1000;
}

extern "C" uint32_t ps_shard_of(const char *id, uint32_t n) noexcept
{
    return id && n ? (uint32_t)(fnv1a64(id) % n) : 0;
}

extern "C" ps_status ps_db_open_shards(const char *const *specs, size_t n,
                                       ps_db_mode mode, const ps_shard_opts *opts,
                                       ps_db **out, char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st = PS_OK;
    try {
        bool ok = specs && n > 0 && n <= MAX_SHARDS && out &&
                  (mode == PS_DB_READ || mode == PS_DB_WRITE);
        for (size_t i = 0; ok && i < n; i++)
            ok = specs[i] && *specs[i];
        if (!ok) {
            msg = "invalid argument to ps_db_open_shards";
            st = PS_ERR_INVALID;
        } else {
            std::unique_ptr<ps_db> h(new ps_db);
            h->sharded = true;
            h->path = specs[0];
            ps_shard_opts_init(&h->sopts);
            if (opts) {
                h->sopts.allow_partial = opts->allow_partial;
                if (opts->timeout_ms)
                    h->sopts.timeout_ms = opts->timeout_ms;
                if (opts->connect_timeout_ms)
                    h->sopts.connect_timeout_ms = opts->connect_timeout_ms;
                if (opts->retry_ms)
                    h->sopts.retry_ms = opts->retry_ms;
            }
            if (mode == PS_DB_WRITE) {
                h->writable = true;
                Xapian::Database c;
                for (size_t i = 0; i < n && st == PS_OK; i++) {
                    ps_db *sub = nullptr;
                    st = open_write_shard(specs[i], h->sopts, &sub, msg);
                    if (st == PS_OK) {
                        h->subs.push_back(sub);
                        c.add_database(sub->wdb);
                    }
                }
                if (st == PS_OK) {
                    h->rdb = c;
                    *out = h.release();
                    return PS_OK;
                }
            } else {
                size_t up = 0;
                h->shards.resize(n);
                for (size_t i = 0; i < n; i++) {
                    h->shards[i].spec = specs[i];
                    open_read_shard(h->shards[i], h->sopts);
                    up += h->shards[i].up;
                }
                if (up == n || (up > 0 && h->sopts.allow_partial)) {
                    rebuild_combined(h.get());
                    *out = h.release();
                    return PS_OK;
                }
                msg = down_message(h.get());
                st = PS_ERR_IO;
                for (const ps_shard &sh : h->shards)
                    if (!sh.up && contains(sh.err, "cannot open the database"))
                        st = PS_ERR_NO_DB;
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

namespace {

// N from dir/SHARDS: 0 when absent, -1 when unreadable or malformed.
long read_shards_file(const std::string &dir)
{
    struct stat sb;
    if (stat((dir + "/SHARDS").c_str(), &sb) != 0)
        return 0;  // no shard set here (ps_db_open reports what is wrong)
    FILE *f = fopen((dir + "/SHARDS").c_str(), "re");
    if (!f)
        return -1;
    char buf[32] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *end = nullptr;
    long v = strtol(buf, &end, 10);
    while (end && (*end == '\n' || *end == ' '))
        end++;
    if (end == buf || !end || *end || v < 1 || v > (long)MAX_SHARDS)
        return -1;
    return v;
}

// Creates dir (when missing) and dir/SHARDS atomically (write + rename).
bool write_shards_file(const std::string &dir, uint32_t n, std::string &msg)
{
    if (mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST) {
        msg = "cannot create '" + dir + "': " + strerror(errno);
        return false;
    }
    std::string tmp = dir + "/SHARDS.tmp", fin = dir + "/SHARDS";
    FILE *f = fopen(tmp.c_str(), "we");
    bool ok = f && fprintf(f, "%u\n", (unsigned)n) > 0;
    ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp.c_str(), fin.c_str()) != 0)
        ok = false;
    if (!ok) {
        msg = "cannot write '" + fin + "': " + strerror(errno);
        unlink(tmp.c_str());
    }
    return ok;
}

}  // namespace

extern "C" ps_status ps_db_open_dir(const char *dir, ps_db_mode mode, uint32_t nshards,
                                    ps_db **out, char **errmsg) noexcept
{
    if (out)
        *out = nullptr;
    if (errmsg)
        *errmsg = nullptr;
    std::string msg;
    ps_status st = PS_ERR_INVALID;
    try {
        if (!dir || !*dir || !out || nshards > MAX_SHARDS) {
            msg = "invalid argument to ps_db_open_dir";
        } else {
            std::string d = dir;
            long have = read_shards_file(d);
            struct stat sb;
            bool plain = stat((d + "/iamglass").c_str(), &sb) == 0;
            if (have < 0) {
                msg = "'" + d + "/SHARDS' is unreadable or malformed (want the "
                      "number of shards, 1.." + std::to_string(MAX_SHARDS) + ")";
            } else if (have == 0 && nshards == 0) {
                return ps_db_open(dir, mode, out, errmsg);
            } else if (nshards > 0 && have > 0 && (uint32_t)have != nshards) {
                msg = "'" + d + "' holds " + std::to_string(have) +
                      " shards, not " + std::to_string(nshards) +
                      " (the shard of a document depends on the number: "
                      "reindex into a new directory to change it)";
            } else if (have == 0 && plain) {
                msg = "'" + d + "' is a single database, not a shard set";
            } else if (have == 0 && mode == PS_DB_READ) {
                msg = "no shard set at '" + d + "' (no SHARDS file)";
                st = PS_ERR_NO_DB;
            } else if (have == 0 && !write_shards_file(d, nshards, msg)) {
                st = PS_ERR_IO;
            } else {
                uint32_t n = have > 0 ? (uint32_t)have : nshards;
                std::vector<std::string> paths;
                std::vector<const char *> specs;
                for (uint32_t i = 0; i < n; i++)
                    paths.push_back(d + "/shard-" + std::to_string(i));
                for (const auto &p : paths)
                    specs.push_back(p.c_str());
                return ps_db_open_shards(specs.data(), specs.size(), mode, nullptr,
                                         out, errmsg);
            }
        }
    } catch (...) {
        st = map_exception(msg);
    }
    if (errmsg)
        *errmsg = strdup(msg.c_str());
    return st;
}

extern "C" uint32_t ps_db_nshards(const ps_db *db) noexcept
{
    if (!db || !db->sharded)
        return 0;
    return (uint32_t)(db->writable ? db->subs.size() : db->shards.size());
}

extern "C" ps_status ps_db_shard_state(const ps_db *db, uint32_t i, const char **spec,
                                       int *up) noexcept
{
    if (spec)
        *spec = nullptr;
    if (up)
        *up = 0;
    if (!db || i >= ps_db_nshards(db))
        return PS_ERR_INVALID;
    if (db->writable) {
        if (spec)
            *spec = db->subs[i]->path.c_str();
        if (up)
            *up = 1;
    } else {
        if (spec)
            *spec = db->shards[i].spec.c_str();
        if (up)
            *up = db->shards[i].up;
    }
    return PS_OK;
}

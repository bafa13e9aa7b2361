// exceptions.cc: exceptions to ps_status.  Every extern "C" entry point of
// lib/core/ catches everything and calls fail() or map_exception() from
// its catch block, so that no exception crosses the C API; the mapping
// from Xapian's exception classes (and std::bad_alloc) to the statuses of
// polysearch.h and their messages lives here, in one place.

#include "internal.h"

#include <cerrno>
#include <cstring>
#include <new>
#include <string>

// Classifies the exception being handled; stores its message in msg.
// Must be called from inside a catch block.
ps_status psi::map_exception(std::string &msg) noexcept
{
    try {
        try {
            throw;
        } catch (const Xapian::DatabaseModifiedError &e) {
            msg = "the database was modified by a writer while reading; "
                  "retry: " + e.get_description();
            return PS_ERR_MODIFIED;
        } catch (const Xapian::DatabaseLockError &e) {
            msg = "another writer holds the database lock: " +
                  e.get_description();
            return PS_ERR_LOCKED;
        } catch (const Xapian::QueryParserError &e) {
            msg = "query syntax error: " + e.get_msg();
            return PS_ERR_QUERY;
        } catch (const Xapian::WildcardError &e) {
            msg = "a wildcard matches too many terms: " + e.get_msg();
            return PS_ERR_TOO_MANY_TERMS;
        } catch (const Xapian::DatabaseCorruptError &e) {
            msg = "the database is corrupt: " + e.get_description();
            return PS_ERR_CORRUPT;
        } catch (const Xapian::DatabaseOpeningError &e) {
            // DatabaseNotFoundError and DatabaseVersionError derive from it.
            msg = "cannot open the database: " + e.get_description();
            return PS_ERR_NO_DB;
        } catch (const Xapian::DatabaseCreateError &e) {
            msg = "cannot create the database: " + e.get_description();
            return PS_ERR_NO_DB;
        } catch (const Xapian::DatabaseError &e) {
            msg = e.get_description();
            const char *sys = e.get_error_string();
            std::string s = sys ? sys : "";
            if (contains(s, strerror(ENOSPC)) || contains(msg, strerror(ENOSPC))) {
                msg = "no space left on device (ENOSPC); the database stays "
                      "at its last commit; free some space and retry: " + msg;
                return PS_ERR_IO;
            }
            // A table file shorter than the version file says ("EOF
            // reading block") is damage, not an I/O failure.
            if (s.empty() && (contains(msg, "EOF reading block") ||
                              contains(msg, "orrupt"))) {
                msg = "the database is corrupt: " + msg;
                return PS_ERR_CORRUPT;
            }
            if (!s.empty() || contains(msg, strerror(EIO)) ||
                contains(msg, strerror(EDQUOT)) || contains(msg, strerror(EFBIG))) {
                msg = "I/O error; the database stays at its last commit: " + msg;
                return PS_ERR_IO;
            }
            return PS_ERR_INTERNAL;
        } catch (const Xapian::NetworkError &e) {
            // A remote shard (xapian-tcpsrv) is unreachable, timed out or
            // closed the connection.
            msg = "remote database unavailable: " + e.get_description();
            return PS_ERR_IO;
        } catch (const Xapian::InvalidArgumentError &e) {
            msg = e.get_description();
            return PS_ERR_INVALID;
        } catch (const Xapian::DocNotFoundError &e) {
            msg = e.get_description();
            return PS_ERR_NOT_FOUND;
        } catch (const Xapian::Error &e) {
            msg = "internal error: " + e.get_description();
            return PS_ERR_INTERNAL;
        } catch (const std::bad_alloc &) {
            msg = "out of memory";
            return PS_ERR_NOMEM;
        } catch (const std::exception &e) {
            msg = std::string("internal error: ") + e.what();
            return PS_ERR_INTERNAL;
        } catch (...) {
            msg = "internal error: unknown exception";
            return PS_ERR_INTERNAL;
        }
    } catch (...) {
        // Building the message itself failed (no memory).
        msg.clear();
        return PS_ERR_NOMEM;
    }
}

ps_status psi::fail(ps_db *db) noexcept
{
    return map_exception(db->err);
}

ps_status psi::set_err(ps_db *db, ps_status st, const std::string &m)
{
    db->err = m;
    return st;
}

// Throws std::bad_alloc when a C helper reported an allocation failure.
char *psi::need(char *p)
{
    if (!p)
        throw std::bad_alloc();
    return p;
}

#!/usr/bin/env python3
"""categorize.py: where polysearch-index's CPU goes, from a perf profile.

Usage: perf script -i perf.data -F tid,ip,sym,dso | categorize.py [--markdown]
Reads `perf record --call-graph dwarf` samples of polysearch-index and puts
each sample in one category by the first frame (from the leaf up) that
names one, and in one thread role by the thread's entry function; prints
the share of all samples of each part of the work (categories summed),
of each category, and of each thread role.

libxapian is stripped in Debian, so its internal functions show as
addresses: they are classed by the polysearch frame above them
(put_prepared_impl calls libxapian directly only for add_document and
replace_document, whose public frames tail calls hide; commit_impl calls
WritableDatabase::commit, the flush of the buffered postings into the
B-trees).  zlib's deflate and the pread/pwrite/fdatasync system calls are
classed by the leaf, wherever they are called from.
"""
import re
import sys
from collections import Counter

INVERTER = ("Xapian add_document: inverter (postings, positions buffered in "
            "memory) and docdata/termlist B-tree inserts")

# Checked on the 12 frames nearest the leaf.
LEAF_RULES = [
    ("zlib compression (deflate) of B-tree items", r"^(deflate|inflate|compress|adler32|crc32)"),
    ("fdatasync (CPU part only; the wait is not sampled)",
     r"fdatasync|__x64_sys_fdatasync|file_write_and_wait_range"),
    ("pread/pwrite system calls (B-tree blocks)",
     r"__libc_pread|__libc_pwrite|__x64_sys_pread64|__x64_sys_pwrite64"),
]
# Checked on every frame from the leaf up; the first match wins.
ROOT_RULES = [
    ("merge: Xapian compactor", r"Xapian::Database::compact|Xapian::Compactor"),
    ("merge: spelling database", r"write_spelling"),
    ("spelling check before a commit (Xapian 1.4 workaround)", r"psi::check_spelling"),
    ("Xapian commit: flush of buffered postings and positions into the B-trees",
     r"Xapian::WritableDatabase::commit"),
    (INVERTER, r"Xapian::WritableDatabase::(add|replace)_document"),
    ("spelling: add_spelling", r"Xapian::WritableDatabase::add_spelling|add_spelling_logged"),
    ("id lookup (unchanged check)", r"find_id|stored_hash_equals|ps_db_check_unchanged"),
    ("analysis: language ID (CLD2)", r"ps_detect_lang|CLD2::"),
    ("analysis: folding (utf8proc)", r"ps_fold|utf8proc"),
    ("analysis: stemming (Snowball)", r"MemoStem|Xapian::Stem|Xapian::StemImplementation|"
                                      r"Xapian::Internal::Snowball|InternalStem"),
    ("analysis: boilerplate and title", r"ps_clean_body|ps_derive_title|ps_boilerplate"),
    ("analysis: tokenising, term lists (TermGenerator)", r"Xapian::TermGenerator"),
    ("analysis: other (stored fields, hash, validation)", r"prepare_impl|ps_doc_prepare"),
    ("writer: other", r"put_prepared_impl|commit_impl|pipe_write|bulk_put|write_one"),
    ("reading and parsing JSON Lines", r"index_jsonl|jsonl_|json_"),
    ("pipeline hand-off, freeing analysed documents",
     r"pipeline_submit|junk_|worker_main|writer_main|pipeline_"),
]
# Thread roles, by the entry function (the frame nearest the root that
# matches).
ROLES = [
    ("analysis threads", r"^worker_main$"),
    ("part writers (parallel build)", r"^part_writer_main$"),
    ("pipeline writer thread (serial: all writes; parallel: dealing only)", r"^writer_main$"),
    ("reading thread (and the merge of a parallel build)", r"^main$|^run_index$"),
]


def classify(frames):
    syms = [f[0] for f in frames]
    for cat, rx in LEAF_RULES:
        for f in syms[:12]:
            if re.search(rx, f):
                return cat
    for i, f in enumerate(syms):
        if "put_prepared_impl" in f and i > 0 and "libxapian" in frames[i - 1][1] \
                and frames[i - 1][0] == "[unknown]":
            return INVERTER
        for cat, rx in ROOT_RULES:
            if re.search(rx, f):
                return cat
    return "other"


def role(frames):
    for sym, _ in reversed(frames):
        for name, rx in ROLES:
            if re.search(rx, sym):
                return name
    return "other"


# The short view: categories summed into the parts of the work.
SUMMARY = [
    ("text analysis (tokenising, stemming, folding, boilerplate, CLD2, fields)", r"^analysis: "),
    ("Xapian's inverter (add_document: postings and positions in memory, "
     "docdata and termlist inserts)", r"^Xapian add_document"),
    ("B-tree writes at commit (flush of the buffered postings and positions)",
     r"^Xapian commit"),
    ("compression (zlib deflate of B-tree items)", r"^zlib"),
    ("system calls: pread/pwrite of B-tree blocks, fdatasync (CPU part)",
     r"^pread/pwrite|^fdatasync"),
    ("spelling (add_spelling, the read-back check)", r"^spelling"),
    ("merge of a parallel build (compactor, spelling database)", r"^merge: "),
    ("reading JSON Lines, hand-off between threads, the rest",
     r"^reading|^pipeline|^writer: other|^id lookup|^other"),
]


def summary(counts):
    out = Counter()
    for cat, n in counts.items():
        for name, rx in SUMMARY:
            if re.search(rx, cat):
                out[name] += n
                break
        else:
            out["other"] += n
    return out


def table(counts, total, md, head):
    if md:
        print(f"| {head} | share of CPU samples |")
        print("|---|---:|")
    for cat, n in counts.most_common():
        if md:
            print(f"| {cat} | {100.0 * n / total:.1f} % |")
        else:
            print(f"{100.0 * n / total:6.1f} %  {cat}")
    print()


def main():
    counts, roles = Counter(), Counter()
    frames = []
    total = 0

    def flush():
        nonlocal total
        if frames:
            counts[classify(frames)] += 1
            roles[role(frames)] += 1
            total += 1

    for line in sys.stdin:
        if not line.startswith((" ", "\t")) or not line.strip():
            flush()
            frames.clear()
            continue
        m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            frames.append((m.group(1), m.group(2)))
    flush()
    if total == 0:
        sys.exit("categorize.py: no samples with call chains on stdin")
    md = "--markdown" in sys.argv
    table(summary(counts), total, md, "part of the work")
    table(counts, total, md, "where (in detail)")
    table(roles, total, md, "thread")
    print(f"{total} samples")


if __name__ == "__main__":
    main()

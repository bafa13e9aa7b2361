# search_lib.sh: shell functions shared by bench/search_bench.sh and
# bench/http_bench.sh (sourced, never run): the Release build, the corpus,
# queries and polysearch database of a size, and Sphinx's per-language
# indexes served by searchd.  The caller sets `here` (bench/), `root` (the
# checkout) and `out`, defines log(), and keeps the ids of the processes it
# starts in the array `pids` (killed by its EXIT trap).

# sl_build TARGET...: PS_BIN_DIR, or build-bench-rel/ configured as Release
# and the targets built there (incremental) when PS_BIN_DIR is unset.
sl_build() {
    if [ -z "${PS_BIN_DIR:-}" ]; then
        PS_BIN_DIR=$root/build-bench-rel
        cmake -S "$root" -B "$PS_BIN_DIR" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
        nice -n 10 cmake --build "$PS_BIN_DIR" -j2 --target "$@" >/dev/null
    fi
}

# findbin NAME: the path of executable NAME under PS_BIN_DIR (exit 69 if none).
findbin() {
    local p; p=$(find "$PS_BIN_DIR" -type f -name "$1" -perm -u+x | head -1)
    [ -n "$p" ] || { log "$1 not found under $PS_BIN_DIR"; exit 69; }
    echo "$p"
}

# sl_data SIZE: sets corpus (bench/data/corpus-SIZE.jsonl, built by
# build_corpus.sh when missing), queries (bench/data/queries.txt, written by
# make_queries.py when missing) and nq (its number of queries).
sl_data() {
    corpus=$here/data/corpus-$1.jsonl
    queries=$here/data/queries.txt
    if [ ! -s "$corpus" ]; then
        if [ "$1" = 1m ]; then "$here/build_corpus.sh" --docs 1000000 >/dev/null
        else "$here/build_corpus.sh" >/dev/null; fi
    fi
    [ -s "$queries" ] || nice -n 10 python3 "$here/make_queries.py"
    nq=$(grep -c . "$queries")
}

# sl_db DB REINDEX SIZE INDEXER LOGFILE: indexes $corpus into DB with
# polysearch-index when REINDEX is 1, DB has no .complete stamp, or the
# corpus is newer than the stamp.
sl_db() {
    if [ "$2" = 1 ] || [ ! -f "$1/.complete" ] || [ "$corpus" -nt "$1/.complete" ]; then
        log "indexing the $3 corpus with polysearch-index ..."
        rm -rf "$1"
        nice -n 10 "$4" --db "$1" --jsonl "$corpus" > "$5" 2>&1
        touch "$1/.complete"
    fi
}

# wait_file PATH SECONDS PID: waits until PATH is non-empty; fails when PID
# dies or SECONDS pass.
wait_file() {
    local i=0
    while [ ! -s "$1" ]; do
        kill -0 "$3" 2>/dev/null || { log "process $3 died while starting"; return 1; }
        sleep 0.2; i=$((i + 1))
        [ $i -lt $(($2 * 5)) ] || { log "timed out waiting for $1"; return 1; }
    done
}

# sl_free_port: a free TCP port on 127.0.0.1.
sl_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# sl_sphinx_check: exit 69 unless Sphinx (Debian sphinxsearch) is installed.
sl_sphinx_check() {
    if [ ! -x /usr/bin/indexer ] || [ ! -x /usr/bin/searchd ]; then
        log "Sphinx missing: apt-get install sphinxsearch (or pass --no-sphinx)"
        exit 69
    fi
}

# sl_sphinx_index SDIR PORT: writes SDIR/sphinx.conf for $corpus (SDIR
# emptied first) and indexes it with /usr/bin/indexer, timed; sets
# sphinx_index_s (wall seconds) and touches SDIR/.complete.
sl_sphinx_index() {
    "$here/sphinx/index.sh" conf "$corpus" "$1" "$2"
    log "Sphinx indexer (per-language indexes) ..."
    /usr/bin/time -v -o "$1/indexer.time" nice -n 10 "$here/sphinx/index.sh" build "$1"
    sphinx_index_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$1/indexer.time")
    grep -iE 'warning|error' "$1/indexer.log" | head -5 >&2 || true
    touch "$1/.complete"
}

# sl_sphinx_start SDIR PORT: starts /usr/bin/searchd --nodetach on
# SDIR/sphinx.conf, adds it to pids, sets sph_pid, waits (30 s at most) for
# "accepting connections" and writes PORT to SDIR/port; exit 70 if it dies.
sl_sphinx_start() {
    nice -n 10 /usr/bin/searchd --config "$1/sphinx.conf" --nodetach > "$1/searchd.out" 2>&1 &
    sph_pid=$!
    pids+=("$sph_pid")
    for _ in $(seq 1 150); do
        grep -q 'accepting connections' "$1/searchd.out" 2>/dev/null && break
        kill -0 "$sph_pid" 2>/dev/null || { log "Sphinx searchd died: $(tail -3 "$1/searchd.out")"; exit 70; }
        sleep 0.2
    done
    echo "$2" > "$1/port"
}

# sl_sphinx_reuse SDIR PORT: when SDIR holds a complete index of $corpus
# (SDIR/.complete newer than the corpus and the configuration scripts),
# rewrites SDIR/sphinx.conf for PORT, keeping the index, and returns 0;
# else returns 1 (then sl_sphinx_index).
sl_sphinx_reuse() {
    local f
    [ -f "$1/.complete" ] || return 1
    for f in "$corpus" "$here/sphinx/make_conf.py" "$here/sphinx/index.sh" "$here/sphinx/xmlpipe.py"; do
        [ "$f" -nt "$1/.complete" ] && return 1
    done
    python3 "$here/sphinx/make_conf.py" "$corpus" "$1" "$2" > "$1/sphinx.conf.new" &&
        mv "$1/sphinx.conf.new" "$1/sphinx.conf"
}

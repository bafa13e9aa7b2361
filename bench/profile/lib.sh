# lib.sh: what the daemon profiles (search_profile.sh, write_profile.sh)
# share; sourced after they set root, out and log().
#   prof_build TARGET...      PS_BIN_DIR (default build-writer-rel,
#                             RelWithDebInfo) with the targets built; sets psd
#   prof_start ARGS...        polysearchd ARGS --listen 127.0.0.1:0 --port-file
#                             $out/port --quiet in the background (dpid), killed
#                             on exit; exits 70 when it does not start in 30 s
#   prof_record SECS          perf record of the daemon for SECS s in the
#                             background (ppid) into $out/perf.data
#   prof_report               waits for perf, stops the daemon, writes
#                             $out/children.txt (perf_rows.py reads it)

prof_build() {
    if [ -z "${PS_BIN_DIR:-}" ]; then
        PS_BIN_DIR=$root/build-writer-rel
        cmake -S "$root" -B "$PS_BIN_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
        nice -n 10 cmake --build "$PS_BIN_DIR" -j2 --target "$@" >/dev/null
    fi
    psd=$PS_BIN_DIR/searchd/polysearchd
}

dpid=""
ppid=""
prof_cleanup() {
    [ -n "$ppid" ] && kill "$ppid" 2>/dev/null
    [ -n "$dpid" ] && kill -9 "$dpid" 2>/dev/null
    wait 2>/dev/null || true
}
trap prof_cleanup EXIT

prof_start() {
    "$psd" "$@" --listen 127.0.0.1:0 --port-file "$out/port" --quiet 2> "$out/daemon.log" &
    dpid=$!
    for _ in $(seq 300); do [ -s "$out/port" ] && break; sleep 0.1; done
    [ -s "$out/port" ] || { log "polysearchd did not start"; cat "$out/daemon.log" >&2; exit 70; }
}

prof_record() {
    perf record -F 499 -g --call-graph dwarf,16384 -p "$dpid" -o "$out/perf.data" \
        -- sleep "$1" > /dev/null 2>&1 &
    ppid=$!
}

prof_report() {
    wait "$ppid" || true
    ppid=""
    kill "$dpid"; wait "$dpid" || true; dpid=""
    perf report -i "$out/perf.data" --children --sort sym --stdio -g none 2> /dev/null \
        > "$out/children.txt"
}

"""perf_rows.py: the table of the daemon profiles (search_profile.sh,
write_profile.sh): the inclusive share of the daemon's CPU samples of named
functions, from `perf report --children --sort sym --stdio -g none`."""
import re


def load(children_path):
    """{symbol: inclusive %} of a perf report --children file (the first
    line of each symbol)."""
    incl = {}
    with open(children_path) as f:
        for line in f:
            m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+\[[.k]\]\s+(.*\S)", line)
            if m:
                incl.setdefault(m.group(3), float(m.group(1)))
    return incl


def share(incl, *names):
    """The largest inclusive share among names (0 when none was sampled)."""
    return max((incl.get(n, 0.0) for n in names), default=0.0)


def print_table(incl, rows):
    """rows: [(label, [symbol, ...]), ...] as a Markdown table."""
    print("| part of the work | share of the daemon's CPU samples |")
    print("|---|---:|")
    for label, names in rows:
        print(f"| {label} | {share(incl, *names):.1f} % |")

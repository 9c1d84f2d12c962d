# Sourced by the benchmark scripts in scripts/: runs scripts/machine-reference in the same run
# as the benchmark and prints the benchmark's results as ratios to its figures.
#
#   reference_run before            # full reference (PostgreSQL too); prints its line
#   ... the benchmark, its output saved to a file ...
#   reference_run after --no-postgres   # the cheap parts again (CPU, load, fsync/s)
#   reference_rate LABEL RESULT UNIT PER KEY   # "ratio: LABEL: RESULT UNIT = X per PER KEY (...)"
#   reference_time LABEL MS OPERATION KEY      # "ratio: LABEL: MS ms = X OPERATIONs (...)"
#
# A figure measured both before and after is used as the geometric mean of the two (both are
# shown): on a shared machine fsync/s can differ several times over a minute.
# Ratios whose reference is n/a print n/a. Lines start with "reference: when=..." and "ratio:".
# The figures are kept in $reference_dir: the caller's EXIT trap removes it.
# shellcheck shell=bash

reference_script="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/machine-reference"
reference_dir=$(mktemp -d)

# reference_run WHEN [machine-reference ARGS...]
reference_run() {
    local when=$1
    shift
    "$reference_script" --kv "$@" >"$reference_dir/$when" || true
    printf 'reference: when=%s ' "$when"
    awk -F= '{ k = $1; sub(/^[^=]*=/, ""); v = ($0 ~ /[[:space:]]/) ? "\"" $0 "\"" : $0
               printf "%s%s=%s", (NR > 1 ? " " : ""), k, v } END { print "" }' "$reference_dir/$when"
}

# reference_value KEY: the figure (geometric mean of before and after when both are positive
# numbers), or n/a.
reference_value() {
    cat "$reference_dir"/* 2>/dev/null | awk -F= -v key="$1" '
        $1 == key && $2 ~ /^[0-9]+(\.[0-9]+)?$/ && $2 > 0 { logs += log($2); n++ }
        END { if (!n) print "n/a"; else { v = exp(logs / n); printf (v >= 1000 ? "%.0f\n" : "%.4g\n"), v } }'
}

# reference_shown KEY: "KEY 164", or "KEY 164 before, 294 after: geomean 219.5" when measured twice.
reference_shown() {
    local key=$1 when v values=()
    for when in before after; do
        v=$(awk -F= -v key="$key" '$1 == key { print $2 }' "$reference_dir/$when" 2>/dev/null)
        [[ $v =~ ^[0-9]+(\.[0-9]+)?$ ]] && values+=("$v $when")
    done
    if ((${#values[@]} == 2)) && [[ ${values[0]%% *} != "${values[1]%% *}" ]]; then
        echo "$key ${values[0]}, ${values[1]}: geomean $(reference_value "$key")"
    else
        echo "$key $(reference_value "$key")"
    fi
}

# Three significant digits, without an exponent.
reference_awk='function g3(x) { return x >= 100 ? sprintf("%.0f", x) : sprintf("%.3g", x) } '

# reference_rate LABEL RESULT UNIT PER KEY: RESULT (a rate in UNIT) per PER of KEY.
reference_rate() {
    local label=$1 result=$2 unit=$3 per=$4 key=$5
    awk -v label="$label" -v r="$result" -v unit="$unit" -v per="$per" -v key="$key" \
        -v ref="$(reference_value "$key")" -v shown="$(reference_shown "$key")" "$reference_awk"'BEGIN {
            x = (ref ~ /^[0-9.]+$/ && ref > 0 && r ~ /^[0-9.]+$/) ? g3(r / (ref / per)) : "n/a"
            printf "ratio: %s: %s %s = %s per %s %s (%s)\n", label, r, unit, x, per, key, shown }'
}

# reference_time LABEL MS OPERATION KEY: MS milliseconds in units of one OPERATION, whose
# rate per second is KEY (e.g. fsyncs at fsync/s).
reference_time() {
    local label=$1 ms=$2 operation=$3 key=$4
    awk -v label="$label" -v ms="$ms" -v op="$operation" -v key="$key" \
        -v ref="$(reference_value "$key")" -v shown="$(reference_shown "$key")" "$reference_awk"'BEGIN {
            x = (ref ~ /^[0-9.]+$/ && ref > 0 && ms ~ /^[0-9.]+$/) ? g3(ms * ref / 1000) : "n/a"
            printf "ratio: %s: %s ms = %s %s (%s)\n", label, ms, x, op, shown }'
}

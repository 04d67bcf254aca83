# Sourced by bench/unwind/*.sh: runs every mode once per round, the order
# rotated each round so background load hits all modes alike, and prints
# the median of each mode's two numbers.
#
#   rounds_table ROUNDS "HEADER1" "HEADER2" MODE...
# calls `run_mode MODE` (defined by the caller; prints "<cpu> <wall>").
rounds_table() {
  local rounds=$1 h1=$2 h2=$3
  shift 3
  local modes=("$@") r i m c w
  declare -A cpu wall
  for ((r = 0; r < rounds; ++r)); do
    for ((i = 0; i < ${#modes[@]}; ++i)); do
      m=${modes[(i + r) % ${#modes[@]}]}
      read -r c w < <(run_mode "$m")
      echo "round $r $m $c $w" >&2
      cpu[$m]+="$c "
      wall[$m]+="$w "
    done
  done
  printf '%-10s %14s %14s\n' mode "$h1" "$h2"
  for m in "${modes[@]}"; do
    printf '%-10s %14s %14s\n' "$m" "$(_median ${cpu[$m]})" "$(_median ${wall[$m]})"
  done
}

_median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

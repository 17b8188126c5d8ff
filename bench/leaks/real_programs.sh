# The real Debian programs the leak benchmarks run (issue 13), sourced by
# reach_vs_valgrind.sh and sampled_coverage.sh. make_real_programs DIR INSERTS DICT writes
# their inputs into DIR and fills the associative array `cmds` (name -> command line, words
# split on spaces, "\\ " a space inside a word) and the list `real_program_names`.
# valgrind follows no exec (an `env VAR=... CMD` would measure env): PYTHONMALLOC is
# exported here instead.

declare -A cmds
inserts=20000 dict=100000 only=

# The options every script over these programs takes: --inserts N (sqlite3's INSERTs,
# default 20000; the case is 200000), --dict N (entries of Python's dict, default
# 100000), --only NAME. True when $1 is one of them (its value is $2).
real_programs_option() {
  case $1 in
    --inserts) inserts=$2 ;;
    --dict) dict=$2 ;;
    --only) only=$2 ;;
    *) return 1 ;;
  esac
}
real_program_names=(sqlite3 python3 bc git jq sort gawk tar perl perl_hash)

make_real_programs() {
  local work=$1 inserts=$2 dict=$3 i
  # Inputs the programs read.
  {
    echo "CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c REAL);"
    echo "BEGIN;"
    for ((i = 0; i < inserts; i++)); do echo "INSERT INTO t(b, c) VALUES('row $i', $i.5);"; done
    echo "COMMIT;"
    echo "SELECT count(*), sum(c) FROM t;"
  } >"$work/ins.sql"
  python3 -c "import json, random; random.seed(1); print(json.dumps([{'id': i, 'name': 'n%d' % i, 'tags': ['a', 'b', str(i % 7)], 'v': random.random()} for i in range(20000)]))" >"$work/in.json"
  python3 -c "import random; random.seed(2); print('\n'.join('%x' % random.getrandbits(40) for _ in range(50000)))" >"$work/words.txt"
  git init -q "$work/repo"
  for ((i = 0; i < 100; i++)); do
    echo "$i" >>"$work/repo/f$((i % 10))"
    git -C "$work/repo" add -A
    git -C "$work/repo" -c user.name=b -c user.email=b@x commit -qm "commit $i"
  done

  export PYTHONMALLOC=malloc
  cmds=(
    [sqlite3]="sqlite3 :memory: .read\\ $work/ins.sql"
    [python3]="/usr/bin/python3 -c d={str(i):[i]\\ for\\ i\\ in\\ range($dict)}"
    [bc]="bc -l $work/pi.bc"
    [git]="git -C $work/repo log --stat"
    [jq]="jq .[].name $work/in.json"
    [sort]="sort $work/words.txt"
    [gawk]="gawk {a[\$1]++}END{for(k\\ in\\ a)n++;print\\ n} $work/words.txt"
    [tar]="tar cf /dev/null $work/repo"
    [perl]="perl -e 1"
    [perl_hash]="perl -e my%h;\$h{\$_}=[\$_]for(1..50000)"
  )
  printf 'scale=1000\n4*a(1)\nquit\n' >"$work/pi.bc"
}

# Checks that perfbpf is built and we are root, makes the work directory `work` (removed
# at exit) and the programs' inputs there. $1: perfbpf's path; $2, $3: INSERTS, DICT.
real_programs_setup() {
  [[ -x $1 ]] || { echo "perfbpf not found at $1 (build it or set PERFBPF)" >&2; exit 1; }
  [[ $(id -u) == 0 ]] || { echo "run as root: perfbpf loads BPF programs" >&2; exit 1; }
  work=$(mktemp -d /tmp/perfbpf-real-programs.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  make_real_programs "$work" "$2" "$3"
}

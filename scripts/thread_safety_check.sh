#!/usr/bin/env bash
# Checks the lock annotations (ABSL_GUARDED_BY, ABSL_PT_GUARDED_BY,
# ABSL_LOCKS_EXCLUDED, ABSL_EXCLUSIVE_LOCKS_REQUIRED) with clang's
# -Wthread-safety analysis, which GCC, the build's compiler, does not have.
#
#   scripts/thread_safety_check.sh [BUILD_DIR]     (default: build)
#
# REQUIRES: BUILD_DIR was configured (cmake exports compile_commands.json);
# clang++-14 is installed (scripts/setup.sh installs clang-14). Nothing is
# built: each translation unit is only parsed (-fsyntax-only).
#
# Two checks, over db/, recorder/collector/, replayer/, analysis/, tools/
# and base/ (recorder/preload/ is lock-free and takes no locks):
#   1. no std::mutex, std::condition_variable or std locks there: libstdc++'s
#      types carry no annotations, so the analysis cannot see them; use
#      absl::Mutex (and absl::Condition or absl::CondVar).
#   2. every translation unit of the build under those folders that
#      includes absl's mutex or annotations, directly or through the
#      repository's own headers, parses with -Werror=thread-safety, with
#      the include paths, definitions and language standard of its compile
#      command.
# Exit status: 0 clean, 1 a violation (clang's diagnostics above the last
# line), 2 the check could not run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$root/build}" 2>/dev/null && pwd) || {
  echo "thread_safety_check: build directory ${1:-$root/build} not found; configure first" \
       "(cmake -S . -B build -G Ninja)" >&2
  exit 2
}
clang=clang++-14
if ! command -v "$clang" >/dev/null; then
  echo "thread_safety_check: $clang not found (scripts/setup.sh installs clang-14)" >&2
  exit 2
fi
if [[ ! -f "$build/compile_commands.json" ]]; then
  echo "thread_safety_check: $build/compile_commands.json not found; configure the build first" >&2
  exit 2
fi
dirs=(db recorder/collector replayer analysis tools base)

cd "$root"
existing=()
for d in "${dirs[@]}"; do [[ -d "$d" ]] && existing+=("$d"); done
std_locks='std::(mutex|timed_mutex|recursive_mutex|shared_mutex|condition_variable(_any)?|lock_guard|unique_lock|scoped_lock|shared_lock)\b'
if grep -rnE --include='*.h' --include='*.cc' "$std_locks" "${existing[@]}"; then
  echo "thread_safety_check: FAILED: the lines above use libstdc++'s unannotated locks;" \
       "use absl::Mutex with ABSL_GUARDED_BY so -Wthread-safety can check them" >&2
  exit 1
fi

exec python3 - "$root" "$build" "$clang" "${existing[@]}" <<'PY'
import concurrent.futures, json, os, re, shlex, subprocess, sys

root, build, clang, dirs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
LOCKS = re.compile(r'#include\s+"absl/(synchronization/mutex|base/thread_annotations)\.h"')
INCLUDE = re.compile(r'#include\s+"([^"]+)"')

# Repository files that see absl's locks: those including them, then (to a
# fixpoint) those including such a file.
sources = {}
for top, _, names in os.walk(root):
    if os.path.relpath(top, root).split(os.sep)[0] in ('build', '.git'):
        continue
    for n in names:
        if n.endswith(('.h', '.cc')):
            p = os.path.relpath(os.path.join(top, n), root)
            with open(os.path.join(root, p), errors='replace') as f:
                sources[p] = f.read()
uses = {p for p, text in sources.items() if LOCKS.search(text)}
includes = {p: set(INCLUDE.findall(text)) for p, text in sources.items()}
while True:
    more = {p for p, inc in includes.items() if p not in uses and inc & uses}
    if not more:
        break
    uses |= more

def keep_flags(args):
    """The flags that decide how clang parses: includes, macros, standard."""
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a in ('-I', '-isystem', '-iquote', '-idirafter', '-include', '-D', '-U'):
            out += args[i:i + 2]
            i += 2
            continue
        if a.startswith(('-I', '-D', '-U', '-std=', '-isystem', '-iquote')) or a == '-pthread':
            out.append(a)
        i += 1
    return out

units = {}
with open(os.path.join(build, 'compile_commands.json')) as f:
    for entry in json.load(f):
        path = os.path.normpath(os.path.join(entry['directory'], entry['file']))
        rel = os.path.relpath(path, root)
        if rel not in uses or not rel.endswith('.cc'):
            continue
        if not any(rel.startswith(d.rstrip('/') + '/') for d in dirs):
            continue
        args = entry.get('arguments') or shlex.split(entry['command'])
        units.setdefault(rel, (entry['directory'], keep_flags(args), path))
if not units:
    print('thread_safety_check: no translation unit under ' + ' '.join(dirs) +
          ' uses absl locks; is compile_commands.json from this tree?', file=sys.stderr)
    sys.exit(2)

def check(rel):
    directory, flags, path = units[rel]
    cmd = [clang, '-fsyntax-only', *flags, '-Wno-everything', '-Wthread-safety',
           '-Werror=thread-safety', path]
    r = subprocess.run(cmd, cwd=directory, capture_output=True, text=True)
    return rel, r.returncode, r.stderr

failed = []
with concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 2) as pool:
    for rel, rc, err in pool.map(check, sorted(units)):
        if rc != 0:
            failed.append(rel)
            sys.stderr.write(err)
if failed:
    print(f'thread_safety_check: FAILED: {clang} -Wthread-safety reports errors (above) in '
          f'{len(failed)} of {len(units)} translation units: ' + ' '.join(failed),
          file=sys.stderr)
    sys.exit(1)
print(f'thread_safety_check: OK, {len(units)} translation units parse clean with '
      f'{clang} -Wthread-safety')
PY

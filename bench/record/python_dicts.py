# PYTHONMALLOC=malloc workload for bench/record/run.sh: builds and drops
# large dicts and lists (every object goes through malloc/free).
import sys

rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 6
total = 0
for r in range(rounds):
    d = {("k%d" % i): [i, str(i)] for i in range(150000)}
    lst = [(i, "v%d" % i, {"x": i}) for i in range(150000)]
    total += len(d) + len(lst)
    del d, lst
print("python_dicts:", total)

"""Library-heavy benchmark: most of the time is spent inside the stdlib."""
import hashlib
import json
import re
from operator import itemgetter


def make_records(n):
    return [{"id": i, "name": "item-%05d" % i, "tags": ["t%d" % (i % 13), "g%d" % (i % 7)],
             "score": (i * 7919) % 1000 / 10} for i in range(n)]


records = make_records(12000)
text = json.dumps(records, sort_keys=True)
loaded = json.loads(text)
names = re.findall(r"item-(\d+)", text)
ranked = sorted(loaded, key=itemgetter("score", "name"), reverse=True)
print("records:", len(loaded), "names:", len(names), "top:", ranked[0]["name"])
print("sha256:", hashlib.sha256(text.encode()).hexdigest()[:16])

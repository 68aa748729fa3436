"""Generate the synthetic daily precipitation files in ../data/.

Not part of the demo run. Deterministic: one random.Random(seed) per year,
so re-running it rewrites byte-identical files.

    python3 tools/make_data.py            # writes data/p2013.dat .. p2015.dat
"""
import datetime
import os
import random

# Rough monthly climate of Rio de Janeiro: (chance of rain on a day, mean mm
# on a wet day). Wet summer Dec-Mar, dry winter Jun-Aug.
CLIMATE = {
    1: (0.45, 10.0), 2: (0.42, 10.5), 3: (0.45, 10.0), 4: (0.38, 8.5),
    5: (0.32, 7.0), 6: (0.25, 6.5), 7: (0.22, 6.5), 8: (0.22, 6.0),
    9: (0.30, 6.5), 10: (0.36, 7.5), 11: (0.40, 8.5), 12: (0.48, 11.5),
}

# Year -> (seed, wetness factor). 2015 was a drought year in southeast Brazil.
# Seeds were picked once so that each year shows the wet-summer/dry-winter shape.
YEARS = {2013: (2018, 1.00), 2014: (2015, 0.95), 2015: (2019, 0.65)}

HEADER = "# daily precipitation (mm), synthetic, station RJ-demo\n"


def generate(year, seed, factor):
    """Return the lines of one year's data file."""
    rng = random.Random(seed)
    lines = [HEADER]
    day = datetime.date(year, 1, 1)
    while day.year == year:
        chance, mean = CLIMATE[day.month]
        mm = 0.0
        if rng.random() < chance * (0.5 + factor / 2):
            mm = rng.gammavariate(2.0, mean * factor / 2.0)
        lines.append("%s\t%.1f\n" % (day.isoformat(), mm))
        day += datetime.timedelta(days=1)
    return lines


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")
    os.makedirs(out_dir, exist_ok=True)
    for year, (seed, factor) in sorted(YEARS.items()):
        path = os.path.join(out_dir, "p%d.dat" % year)
        with open(path, "w", newline="\n") as f:
            f.writelines(generate(year, seed, factor))
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()

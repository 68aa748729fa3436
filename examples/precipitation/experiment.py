"""Is the precipitation in Rio de Janeiro constant across years?"""
import argparse

from precipitation import MONTHS, read, sum_by_month, to_unit, create_bargraph

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--unit", choices=["mm", "in"], default="mm")
parser.add_argument("year_a")
parser.add_argument("year_b")
args = parser.parse_args()

days_a = read(f"data/p{args.year_a}.dat")
days_b = read(f"data/p{args.year_b}.dat")

prec_a = to_unit(sum_by_month(days_a), args.unit)
prec_b = to_unit(sum_by_month(days_b), args.unit)

create_bargraph("out.svg", MONTHS, [args.year_a, args.year_b], prec_a, prec_b,
                title=f"Precipitation in Rio de Janeiro, {args.year_a} vs {args.year_b}",
                unit=args.unit)

digits = 1 if args.unit == "mm" else 2
print(f"{args.unit:<6}{args.year_a:>9}{args.year_b:>9}")
for month, a, b in zip(MONTHS, prec_a, prec_b):
    print(f"{month:<6}{a:>9.{digits}f}{b:>9.{digits}f}")
print(f"{'Total':<6}{sum(prec_a):>9.{digits}f}{sum(prec_b):>9.{digits}f}")

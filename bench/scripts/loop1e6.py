# One million iterations with three assignments each: fine mode must store a bounded
# amount (first and last values per line, the rest counted), whatever the count.
total = 0
for i in range(1_000_000):
    square = i * i
    total += square
    last = total % 97
print(total, last)

"""Loop-heavy benchmark: arithmetic in one loop, almost no calls."""


def checksum(n):
    total = 0
    x = 1
    for i in range(n):
        x = (x * 1103515245 + 12345) % 2147483648
        if x & 1:
            total += i * 3
        else:
            total ^= x >> 7
    return total


print("checksum =", checksum(400000))

import asyncio


def countdown(n):
    while n > 0:
        yield n
        n -= 1
    return "done"


def first_two(items):
    gen = (x * 10 for x in items)
    return next(gen), next(gen)


async def double_later(x):
    await asyncio.sleep(0)
    return 2 * x


async def main():
    return await double_later(21)


print(list(countdown(3)))
print(first_two([1, 2, 3]))
print(asyncio.run(main()))

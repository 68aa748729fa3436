import functools


def logged(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper


class Account:
    rate = 0.5

    def __init__(self, owner, balance=0):
        self.owner = owner
        self.balance = balance

    @logged
    def deposit(self, amount):
        self.balance += amount
        return self.balance

    @classmethod
    def empty(cls, owner):
        return cls(owner)

    @staticmethod
    def fee(amount, *, percent=1):
        return amount * percent / 100

    @property
    def interest(self):
        return self.balance * self.rate

    def __repr__(self):
        return "Account(%r, %r)" % (self.owner, self.balance)


def make_counter():
    count = 0

    def increment(step=1):
        nonlocal count
        count += step
        return count
    return increment


acct = Account.empty("ana")
acct.deposit(10)
print(acct, Account.fee(200, percent=2), acct.interest)
counter = make_counter()
counter()
print(counter(5))
square = lambda x: x * x
print(sorted([3, -4, 1], key=square))

# A struct.Struct subclass whose __init__ refuses before Struct.__init__ ran: the half-made
# object must not be touched (repr() of it crashes CPython 3.13).
import struct


class Refusing(struct.Struct):
    def __init__(self, fmt):
        raise ValueError("refused %r" % fmt)


class Fine(struct.Struct):
    def __init__(self):
        super().__init__(">h")


try:
    Refusing("h")
except ValueError as e:
    print("ValueError:", e)
print(Fine().pack(12345))

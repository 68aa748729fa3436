from helper import greet

print(greet("world"))

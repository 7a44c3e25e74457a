from autonomy import Node

print("starting up, about to fail", flush=True)
raise ValueError("the database URL is missing")  # dies before its node starts

Node.start()

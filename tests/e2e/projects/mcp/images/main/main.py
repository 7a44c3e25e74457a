from autonomy import Node

Node.start()

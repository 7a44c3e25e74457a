from autonomy import Node

Node.start()  # Wait for work from main

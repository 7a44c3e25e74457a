"""Agents: workers that hold conversations with a model and call tools.

* :mod:`.agent`: :class:`~.agent.Agent` (``start``, ``start_many``, ``stop``) and the
  worker behind each agent; :mod:`._turn`: one turn of a conversation (the model, the
  tools, the limits);
* :mod:`.reference`: :class:`~.reference.AgentReference`, what ``Agent.start`` returns;
* :mod:`.messages`: the conversation's messages and the requests between workers;
* :mod:`.repl`: :class:`~.repl.Repl`, a chat with an agent over TCP;
* :mod:`._routes`: the node's ``/agents`` HTTP routes.
"""

__all__: list[str] = []

"""The ``autonomy`` commands, one module per command group: :mod:`.cluster`, :mod:`.zone`,
:mod:`.logs` (``zone logs``, ``zone inlet``), :mod:`.dev`; :mod:`.shared` is what they
share. Only this layer prints or exits."""

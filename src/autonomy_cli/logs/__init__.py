"""A zone's logs: its containers' lines, tagged, interleaved by time, followed for good.

=================  ================================================================
module             what
=================  ================================================================
:mod:`.lines`      one line (:class:`~.lines.LogLine`) and the formats it is parsed from
:mod:`.merge`      interleaving lines of many containers by time, in bounded memory
:mod:`.source`     where containers and their log bytes come from (a protocol)
:mod:`.follow`     following a zone (:func:`~.follow.follow`), or its lines now
                   (:func:`~.follow.snapshot`)
:mod:`.page`       the logs page of ``zone inlet --to logs`` (``page.html``)
:mod:`.api`        its JSON API: ``/containers``, ``/pods/<pod>/containers/<container>``
=================  ================================================================

Usage::

    for line in follow("hello", pods=["main-pod"], stop=stop_event):
        print(line.time, line.instance, line.container, line.level, line.body)

    lines = snapshot("hello", since=parse_since("10m"))
"""
